#include "lib/llm/backoff_sleep.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace pipeline::llm {

constexpr auto k_sleep_check_interval = std::chrono::milliseconds(50);

util::StopReason sleep_unless_stopped(double seconds, const util::CancelToken& cancel) {
  const auto until = util::Clock::now() + std::chrono::duration_cast<util::Clock::duration>(
                                              std::chrono::duration<double>(std::max(0.0, seconds)));
  while (true) {
    if (auto reason = cancel.stop_reason(); reason != util::StopReason::none) return reason;
    const auto now = util::Clock::now();
    if (now >= until) return util::StopReason::none;
    std::this_thread::sleep_for(std::min<util::Clock::duration>(k_sleep_check_interval, until - now));
  }
}

}  // namespace pipeline::llm

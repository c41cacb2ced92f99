#include "lib/llm/concurrency_limit.hpp"

#include <algorithm>
#include <thread>

namespace pipeline::llm {

constexpr auto k_check_interval = std::chrono::milliseconds(50);

ConcurrencyLimit::ConcurrencyLimit(int limit) : m_available(std::max(1, limit)) {}

bool ConcurrencyLimit::acquire(const util::CancelToken& cancel) {
  std::unique_lock lock(m_mutex);
  while (m_available == 0) {
    if (cancel.stop_requested()) return false;
    m_freed.wait_for(lock, k_check_interval);
  }
  --m_available;
  return true;
}

void ConcurrencyLimit::release() {
  {
    std::lock_guard lock(m_mutex);
    ++m_available;
  }
  m_freed.notify_one();
}

util::StopReason sleep_unless_stopped(double seconds, const util::CancelToken& cancel) {
  const auto until = util::Clock::now() + std::chrono::duration_cast<util::Clock::duration>(
                                              std::chrono::duration<double>(std::max(0.0, seconds)));
  while (true) {
    if (auto reason = cancel.stop_reason(); reason != util::StopReason::none) return reason;
    const auto now = util::Clock::now();
    if (now >= until) return util::StopReason::none;
    std::this_thread::sleep_for(std::min<util::Clock::duration>(k_check_interval, until - now));
  }
}

}  // namespace pipeline::llm

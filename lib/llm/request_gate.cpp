#include "lib/llm/request_gate.hpp"

#include <algorithm>

namespace pipeline::llm {

// How often a waiter looks at its cancel token.
constexpr auto k_gate_check_interval = std::chrono::milliseconds(50);
// The longest pause taken, so that an absurd Retry-After cannot overflow the clock.
constexpr double k_longest_pause_s = 24 * 3600;

RequestGate::RequestGate(int requests_per_minute) {
  if (requests_per_minute <= 0) return;
  const std::chrono::duration<double> interval(60.0 / requests_per_minute);
  m_interval = std::chrono::duration_cast<Clock::duration>(interval);
}

bool RequestGate::wait_turn(const util::CancelToken& cancel) {
  std::unique_lock lock(m_mutex);
  while (true) {
    if (cancel.stop_requested()) return false;
    const auto now = Clock::now();
    const auto ready = std::max(m_next_start, m_paused_until);
    if (now >= ready) {
      // Spacing counts from the real start, so a gate idle for a while grants no burst.
      m_next_start = now + m_interval;
      return true;
    }
    // Nothing that happens meanwhile makes `ready` earlier, so a timed wait is enough.
    m_changed.wait_for(lock, std::min<Clock::duration>(k_gate_check_interval, ready - now));
  }
}

void RequestGate::pause_for(double seconds) {
  if (!(seconds > 0)) return;
  std::lock_guard lock(m_mutex);
  const std::chrono::duration<double> pause(std::min(seconds, k_longest_pause_s));
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(pause);
  m_paused_until = std::max(m_paused_until, until);
}

}  // namespace pipeline::llm

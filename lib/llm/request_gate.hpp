#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "lib/util/cancel.hpp"

namespace pipeline::llm {

// Paces the requests of one client, and so of every run that shares it (a
// batch): at most `requests_per_minute` starts per minute (0: no limit), and
// a pause for everyone when the server asked one request to retry after a
// while. Thread-safe.
class RequestGate {
 public:
  explicit RequestGate(int requests_per_minute = 0);

  // Waits until a request may start: past any pause, and at least 60/rpm
  // seconds after the previous start. False when `cancel` stopped the wait.
  bool wait_turn(const util::CancelToken& cancel);
  // No request starts before `seconds` from now (a server's Retry-After);
  // a longer pause already set is kept.
  void pause_for(double seconds);

 private:
  using Clock = std::chrono::steady_clock;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  Clock::duration m_interval{};
  Clock::time_point m_next_start{};
  Clock::time_point m_paused_until{};
};

}  // namespace pipeline::llm

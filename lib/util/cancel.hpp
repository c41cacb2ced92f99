#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include "lib/util/time.hpp"

namespace pipeline::util {

// Why work should stop now.
enum class StopReason { none, signal, deadline, cancelled };

// Installs SIGINT and SIGTERM handlers that only record the signal; work in
// progress notices it through CancelToken and winds down cleanly.
void install_stop_signal_handlers();

// The first SIGINT/SIGTERM received since start (or since the reset), 0 if none.
int received_stop_signal();

// Forgets a recorded signal; for tests.
void reset_stop_signal();

// Tells long operations (model calls, waits between retries) when to give up:
// on a stop signal, when an optional deadline passes, or when cancel() is
// called on this token or any copy of it. Cheap to copy; thread-safe.
class CancelToken {
 public:
  CancelToken();
  explicit CancelToken(std::optional<Clock::time_point> deadline);
  // A token that a stop signal does not stop, only cancel() and its deadline:
  // for short, bounded work that is still worth doing after a signal, such as
  // delivering the webhooks of a run that has just been saved.
  static CancelToken ignoring_signals(std::optional<Clock::time_point> deadline = std::nullopt);

  StopReason stop_reason() const;
  bool stop_requested() const { return stop_reason() != StopReason::none; }
  // Seconds until the deadline (negative once past); nullopt without one.
  std::optional<double> seconds_left() const;
  void cancel() const;

 private:
  std::shared_ptr<std::atomic<bool>> m_cancelled;
  std::optional<Clock::time_point> m_deadline;
  bool m_ignores_signals = false;
};

}  // namespace pipeline::util

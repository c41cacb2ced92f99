#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace pipeline::service {

// Rung whenever a run this process works on records an event, so that event
// streams wake at once instead of at their next look at the store.
class RunBell {
 public:
  std::uint64_t rings() const {
    std::lock_guard lock(m_mutex);
    return m_rings;
  }
  void ring() {
    {
      std::lock_guard lock(m_mutex);
      ++m_rings;
    }
    m_changed.notify_all();
  }
  // Waits until it rings after `seen` rings, or `timeout` passes.
  void wait(std::uint64_t seen, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(m_mutex);
    m_changed.wait_for(lock, timeout, [&] { return m_rings != seen; });
  }

 private:
  mutable std::mutex m_mutex;
  mutable std::condition_variable m_changed;
  std::uint64_t m_rings = 0;
};

}  // namespace pipeline::service

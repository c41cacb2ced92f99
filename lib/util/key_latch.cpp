#include "lib/util/key_latch.hpp"

#include <chrono>

namespace pipeline::util {

bool KeyLatch::acquire(const std::string& key, const CancelToken& cancel) {
  std::unique_lock lock(m_mutex);
  while (m_held.count(key) > 0) {
    if (cancel.stop_requested()) return false;
    m_released.wait_for(lock, std::chrono::milliseconds(50));
  }
  m_held.insert(key);
  return true;
}

bool KeyLatch::try_acquire(const std::string& key) {
  std::lock_guard lock(m_mutex);
  return m_held.insert(key).second;
}

void KeyLatch::release(const std::string& key) {
  {
    std::lock_guard lock(m_mutex);
    m_held.erase(key);
  }
  m_released.notify_all();
}

}  // namespace pipeline::util

#include "lib/llm/concurrency_limit.hpp"

#include <algorithm>

namespace pipeline::llm {

constexpr auto k_limit_check_interval = std::chrono::milliseconds(50);

ConcurrencyLimit::ConcurrencyLimit(int limit) : m_available(std::max(1, limit)) {}

bool ConcurrencyLimit::acquire(const util::CancelToken& cancel) {
  std::unique_lock lock(m_mutex);
  while (m_available == 0) {
    if (cancel.stop_requested()) return false;
    m_freed.wait_for(lock, k_limit_check_interval);
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

}  // namespace pipeline::llm

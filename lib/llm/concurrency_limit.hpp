#pragma once

#include <condition_variable>
#include <mutex>

#include "lib/util/cancel.hpp"

namespace pipeline::llm {

// A counting semaphore bounding the model requests in flight at once; a
// waiter gives up when its cancel token stops (checked every 50 ms).
class ConcurrencyLimit {
 public:
  explicit ConcurrencyLimit(int limit);
  // True once a place is taken; false when `cancel` stopped the wait.
  bool acquire(const util::CancelToken& cancel);
  void release();

 private:
  std::mutex m_mutex;
  std::condition_variable m_freed;
  int m_available;
};

// Holds one place of a ConcurrencyLimit for a scope.
class ConcurrencySlot {
 public:
  explicit ConcurrencySlot(ConcurrencyLimit& limit) : m_limit(limit) {}
  ~ConcurrencySlot() { m_limit.release(); }
  ConcurrencySlot(const ConcurrencySlot&) = delete;
  ConcurrencySlot& operator=(const ConcurrencySlot&) = delete;

 private:
  ConcurrencyLimit& m_limit;
};

}  // namespace pipeline::llm

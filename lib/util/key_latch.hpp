#pragma once

#include <condition_variable>
#include <mutex>
#include <set>
#include <string>

#include "lib/util/cancel.hpp"

namespace pipeline::util {

// One holder per key at a time: threads that want the same key wait for the
// holder to finish, so a piece of work shared by several runs is done once
// while the others wait for it and then reuse its result. Waiting ends early
// when the waiter's cancel token stops (checked at least every 50 ms).
class KeyLatch {
 public:
  // True once the key is held by the caller; false when `cancel` stopped the wait.
  bool acquire(const std::string& key, const CancelToken& cancel);
  // Takes the key only if nobody holds it.
  bool try_acquire(const std::string& key);
  void release(const std::string& key);

 private:
  std::mutex m_mutex;
  std::condition_variable m_released;
  std::set<std::string> m_held;
};

// Holds a key of a KeyLatch for a scope, once acquired.
class KeyHold {
 public:
  KeyHold(KeyLatch& latch, std::string key) : m_latch(latch), m_key(std::move(key)) {}
  ~KeyHold() { m_latch.release(m_key); }
  KeyHold(const KeyHold&) = delete;
  KeyHold& operator=(const KeyHold&) = delete;

 private:
  KeyLatch& m_latch;
  std::string m_key;
};

}  // namespace pipeline::util

#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace pipeline::testing {

// Waits until `condition` holds, checking every 10 ms, at most `limit`;
// whether it held.
inline bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

}  // namespace pipeline::testing

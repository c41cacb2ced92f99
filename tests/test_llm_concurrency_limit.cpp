#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "lib/llm/concurrency_limit.hpp"

using namespace pipeline::llm;
using pipeline::util::CancelToken;
using pipeline::util::Clock;
using pipeline::util::StopReason;

TEST_CASE("no more holders than the limit at once") {
  ConcurrencyLimit limit(3);
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&] {
      REQUIRE(limit.acquire(CancelToken{}));
      ConcurrencySlot slot(limit);
      const int now = ++inside;
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      --inside;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(most.load() == 3);
}

TEST_CASE("a waiter gives up when its token is cancelled") {
  ConcurrencyLimit limit(1);
  REQUIRE(limit.acquire(CancelToken{}));
  CancelToken token;
  std::thread canceller([token] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    token.cancel();
  });
  const auto start = Clock::now();
  CHECK_FALSE(limit.acquire(token));
  CHECK(pipeline::util::seconds_since(start) < 0.5);
  canceller.join();
  limit.release();
  CHECK(limit.acquire(CancelToken{}));
}

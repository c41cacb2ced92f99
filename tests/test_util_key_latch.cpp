#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "lib/util/key_latch.hpp"
#include "lib/util/time.hpp"

using namespace pipeline;

TEST_CASE("one holder per key; other keys are free") {
  util::KeyLatch latch;
  CHECK(latch.try_acquire("a"));
  CHECK_FALSE(latch.try_acquire("a"));
  CHECK(latch.try_acquire("b"));
  latch.release("a");
  CHECK(latch.try_acquire("a"));
}

TEST_CASE("waiters on a key take it in turn, never two at once") {
  util::KeyLatch latch;
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::atomic<int> done{0};
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < 6; ++i) {
      threads.emplace_back([&] {
        REQUIRE(latch.acquire("stage", util::CancelToken()));
        util::KeyHold hold(latch, "stage");
        const int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        --inside;
        ++done;
      });
    }
  }
  CHECK(most.load() == 1);
  CHECK(done.load() == 6);
}

TEST_CASE("a waiter gives up when its token stops") {
  util::KeyLatch latch;
  REQUIRE(latch.try_acquire("busy"));
  util::CancelToken token(util::Clock::now() + std::chrono::milliseconds(60));
  CHECK_FALSE(latch.acquire("busy", token));
  latch.release("busy");
  CHECK(latch.acquire("busy", util::CancelToken()));
}

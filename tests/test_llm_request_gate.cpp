#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "lib/llm/request_gate.hpp"

using namespace pipeline::llm;
using pipeline::util::CancelToken;
using pipeline::util::Clock;
using pipeline::util::seconds_since;

TEST_CASE("starts are spaced 60/rpm seconds apart") {
  RequestGate gate(600);  // one start per 0.1 s
  const auto start = Clock::now();
  for (int i = 0; i < 5; ++i) REQUIRE(gate.wait_turn(CancelToken{}));
  const double elapsed = seconds_since(start);
  CHECK(elapsed >= 0.4);
  CHECK(elapsed < 1.0);
}

TEST_CASE("the spacing holds across threads") {
  RequestGate gate(600);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { CHECK(gate.wait_turn(CancelToken{})); });
  for (auto& thread : threads) thread.join();
  // The first starts at once, the fourth no sooner than three intervals later.
  const double elapsed = seconds_since(start);
  CHECK(elapsed >= 0.3);
  CHECK(elapsed < 1.0);
}

TEST_CASE("without a rate the gate never waits") {
  RequestGate gate;
  const auto start = Clock::now();
  for (int i = 0; i < 100; ++i) REQUIRE(gate.wait_turn(CancelToken{}));
  CHECK(seconds_since(start) < 0.05);
  gate.pause_for(0);
  gate.pause_for(-5);
  REQUIRE(gate.wait_turn(CancelToken{}));
  CHECK(seconds_since(start) < 0.05);
}

TEST_CASE("a pause delays the next start, and a shorter one does not cut it") {
  RequestGate gate;
  auto start = Clock::now();
  gate.pause_for(0.3);
  REQUIRE(gate.wait_turn(CancelToken{}));
  double elapsed = seconds_since(start);
  CHECK(elapsed >= 0.3);
  CHECK(elapsed < 0.8);

  start = Clock::now();
  gate.pause_for(0.4);
  gate.pause_for(0.1);
  REQUIRE(gate.wait_turn(CancelToken{}));
  elapsed = seconds_since(start);
  CHECK(elapsed >= 0.4);
  CHECK(elapsed < 0.9);
}

TEST_CASE("a pause holds back every waiter, on any thread") {
  RequestGate gate;
  const auto start = Clock::now();
  gate.pause_for(0.3);
  std::vector<double> waited(3);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < waited.size(); ++i) {
    threads.emplace_back([&, i] {
      CHECK(gate.wait_turn(CancelToken{}));
      waited[i] = seconds_since(start);
    });
  }
  for (auto& thread : threads) thread.join();
  for (double seconds : waited) CHECK(seconds >= 0.3);
}

TEST_CASE("a cancelled or expired token ends the wait quickly") {
  RequestGate gate;
  gate.pause_for(30);
  CancelToken token;
  std::thread canceller([token] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    token.cancel();
  });
  auto start = Clock::now();
  CHECK_FALSE(gate.wait_turn(token));
  CHECK(seconds_since(start) < 0.5);
  canceller.join();

  start = Clock::now();
  CHECK_FALSE(gate.wait_turn(CancelToken(Clock::now() + std::chrono::milliseconds(100))));
  CHECK(seconds_since(start) < 0.5);
}

#include <doctest/doctest.h>

#include "lib/llm/backoff_sleep.hpp"

using namespace pipeline::llm;
using pipeline::util::CancelToken;
using pipeline::util::Clock;
using pipeline::util::StopReason;

TEST_CASE("a sleep ends early at a deadline and runs fully otherwise") {
  auto start = Clock::now();
  CHECK(sleep_unless_stopped(0.15, CancelToken{}) == StopReason::none);
  CHECK(pipeline::util::seconds_since(start) >= 0.15);
  start = Clock::now();
  CancelToken token(Clock::now() + std::chrono::milliseconds(100));
  CHECK(sleep_unless_stopped(5, token) == StopReason::deadline);
  CHECK(pipeline::util::seconds_since(start) < 0.3);
}

TEST_CASE("a cancelled sleep ends within the check interval") {
  CancelToken token;
  token.cancel();
  const auto start = Clock::now();
  CHECK(sleep_unless_stopped(5, token) == StopReason::cancelled);
  CHECK(pipeline::util::seconds_since(start) < 0.1);
}

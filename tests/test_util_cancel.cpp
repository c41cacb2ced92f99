#include <doctest/doctest.h>

#include <csignal>
#include <chrono>
#include <thread>

#include "lib/util/cancel.hpp"

using pipeline::util::CancelToken;
using pipeline::util::Clock;
using pipeline::util::StopReason;
using namespace std::chrono_literals;

namespace pipeline::testing {
namespace {

// Installs the stop handlers for one test and puts back the previous
// dispositions and a clear flag afterwards, so other tests are unaffected.
class StopHandlersScope {
 public:
  StopHandlersScope() {
    ::sigaction(SIGINT, nullptr, &m_previous_int);
    ::sigaction(SIGTERM, nullptr, &m_previous_term);
    util::reset_stop_signal();
    util::install_stop_signal_handlers();
  }
  ~StopHandlersScope() {
    util::reset_stop_signal();
    ::sigaction(SIGINT, &m_previous_int, nullptr);
    ::sigaction(SIGTERM, &m_previous_term, nullptr);
  }
  StopHandlersScope(const StopHandlersScope&) = delete;
  StopHandlersScope& operator=(const StopHandlersScope&) = delete;

 private:
  struct sigaction m_previous_int {};
  struct sigaction m_previous_term {};
};

}  // namespace
}  // namespace pipeline::testing

using pipeline::testing::StopHandlersScope;

TEST_CASE("a token without a deadline never stops by itself") {
  REQUIRE(pipeline::util::received_stop_signal() == 0);
  CancelToken token;
  CHECK_FALSE(token.seconds_left());
  CHECK_FALSE(token.seconds_left());
  for (int i = 0; i < 5; ++i) {
    CHECK(token.stop_reason() == StopReason::none);
    CHECK_FALSE(token.stop_requested());
    std::this_thread::sleep_for(2ms);
  }
}

TEST_CASE("a deadline in the past stops with StopReason::deadline") {
  CancelToken token(Clock::now() - 1s);
  CHECK(token.stop_reason() == StopReason::deadline);
  CHECK(token.stop_requested());
  REQUIRE(token.seconds_left());
  CHECK(*token.seconds_left() < 0);
}

TEST_CASE("a deadline stops the token once it passes") {
  CancelToken token(Clock::now() + 50ms);
  CHECK(token.stop_reason() == StopReason::none);
  std::this_thread::sleep_for(80ms);
  CHECK(token.stop_reason() == StopReason::deadline);
}

TEST_CASE("seconds_left counts down to the deadline") {
  CancelToken token(Clock::now() + 10s);
  REQUIRE(token.seconds_left());
  const double first = *token.seconds_left();
  CHECK(first <= 10.0);
  CHECK(first > 9.0);
  std::this_thread::sleep_for(20ms);
  CHECK(*token.seconds_left() < first);
}

TEST_CASE("cancel on a copy stops the original and every other copy") {
  CancelToken original;
  const CancelToken copy = original;
  REQUIRE(original.stop_reason() == StopReason::none);
  copy.cancel();
  CHECK(original.stop_reason() == StopReason::cancelled);
  // A token made separately has its own state.
  CHECK(CancelToken().stop_reason() == StopReason::none);
}

TEST_CASE("cancel from another thread is seen by the waiting thread") {
  CancelToken token;
  std::thread canceller([token] {
    std::this_thread::sleep_for(20ms);
    token.cancel();
  });
  const auto give_up = Clock::now() + 5s;
  while (!token.stop_requested() && Clock::now() < give_up) std::this_thread::sleep_for(1ms);
  canceller.join();
  CHECK(token.stop_reason() == StopReason::cancelled);
}

TEST_CASE("a stop signal stops every token with StopReason::signal until reset") {
  StopHandlersScope scope;
  CancelToken token;
  CancelToken far(Clock::now() + 1h);
  REQUIRE(token.stop_reason() == StopReason::none);

  SUBCASE("SIGTERM") {
    REQUIRE(std::raise(SIGTERM) == 0);
    CHECK(pipeline::util::received_stop_signal() == SIGTERM);
  }
  SUBCASE("SIGINT") {
    REQUIRE(std::raise(SIGINT) == 0);
    CHECK(pipeline::util::received_stop_signal() == SIGINT);
  }
  // The process is still alive: the handler only recorded the signal.
  CHECK(token.stop_reason() == StopReason::signal);
  CHECK(far.stop_reason() == StopReason::signal);
  // A signal outranks an explicit cancel.
  token.cancel();
  CHECK(token.stop_reason() == StopReason::signal);

  pipeline::util::reset_stop_signal();
  CHECK(pipeline::util::received_stop_signal() == 0);
  CHECK(far.stop_reason() == StopReason::none);
  CHECK(token.stop_reason() == StopReason::cancelled);
}

TEST_CASE("the first stop signal is the one remembered") {
  StopHandlersScope scope;
  REQUIRE(std::raise(SIGINT) == 0);
  REQUIRE(std::raise(SIGTERM) == 0);
  CHECK(pipeline::util::received_stop_signal() == SIGINT);
}

TEST_CASE("a token ignoring signals stops only by cancel or its deadline, and its copies ignore them too") {
  StopHandlersScope scope;
  const CancelToken token = CancelToken::ignoring_signals();
  const CancelToken copy = token;
  const CancelToken ordinary;
  REQUIRE(std::raise(SIGTERM) == 0);
  CHECK(ordinary.stop_reason() == StopReason::signal);
  CHECK(token.stop_reason() == StopReason::none);
  CHECK(copy.stop_reason() == StopReason::none);
  copy.cancel();
  CHECK(token.stop_reason() == StopReason::cancelled);

  const CancelToken timed = CancelToken::ignoring_signals(Clock::now() - 1s);
  CHECK(timed.stop_reason() == StopReason::deadline);
}

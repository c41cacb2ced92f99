#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "lib/llm/spend_guard.hpp"
#include "lib/llm/token_estimate.hpp"

using namespace pipeline::llm;
using pipeline::util::ErrorKind;

namespace {

// 30 bytes: 10 tokens of text and 4 of framing.
const std::vector<Message> k_messages = {{"user", std::string(30, 'q')}};

// $3 per million prompt tokens, $6 per million completion tokens.
const std::map<std::string, Price> k_prices = {{"m", Price{3, 6}}};

// 14 prompt tokens and 1000 completion tokens of "m".
constexpr double k_call_usd = (14 * 3.0 + 1000 * 6.0) / 1e6;

bool has_text(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("the estimate prices the guessed prompt and all of max_tokens") {
  SpendGuard guard(1, 0, k_prices);
  REQUIRE(estimate_prompt_tokens(k_messages) == 14);
  const auto cost = guard.estimate("m", k_messages, 1000);
  REQUIRE(cost);
  CHECK(*cost == doctest::Approx(k_call_usd));
  CHECK_FALSE(guard.estimate("other", k_messages, 1000));
}

TEST_CASE("a reservation within the cap is granted and settled at the real cost") {
  SpendGuard guard(0.05, 0.01, k_prices);
  CHECK(guard.cap() == 0.05);
  CHECK(guard.spent() == 0.01);
  auto reserved = guard.reserve("m", k_messages, 1000);
  REQUIRE(reserved.has_value());
  CHECK(*reserved == doctest::Approx(k_call_usd));
  CHECK(guard.reserved() == doctest::Approx(k_call_usd));
  CHECK(guard.spent() == 0.01);
  guard.settle(*reserved, 0.002);
  CHECK(guard.reserved() == 0);
  CHECK(guard.spent() == doctest::Approx(0.012));
}

TEST_CASE("without the real cost the reserved amount counts as spent") {
  SpendGuard guard(1, 0, k_prices);
  auto reserved = guard.reserve("m", k_messages, 1000);
  REQUIRE(reserved.has_value());
  guard.settle(*reserved, std::nullopt);
  CHECK(guard.reserved() == 0);
  CHECK(guard.spent() == doctest::Approx(k_call_usd));
}

TEST_CASE("a call that could pass the cap is refused with the figures that say why") {
  // Room for two calls and $0.001: the third is refused while the first two are in flight.
  SpendGuard guard(0.0100 + 2 * k_call_usd + 0.001, 0.0100, k_prices);
  auto first = guard.reserve("m", k_messages, 1000);
  auto second = guard.reserve("m", k_messages, 1000);
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  auto third = guard.reserve("m", k_messages, 1000);
  REQUIRE_FALSE(third.has_value());
  CHECK(third.error().kind == ErrorKind::cost_limit);
  CHECK(pipeline::util::exit_code(third.error().kind) == 7);
  const std::string& message = third.error().message;
  CAPTURE(message);
  CHECK(has_text(message, "the next model call could cost up to $0.0060"));
  CHECK(has_text(message, "about 14 prompt tokens + 1000 completion tokens of m"));
  CHECK(has_text(message, "with $0.0100 spent (and $0.0121 reserved by calls in flight)"));
  CHECK(has_text(message, "the cost cap of $0.0231 (--max-cost)"));
  CHECK(guard.reserved() == doctest::Approx(2 * k_call_usd));

  // Settled for less than reserved, the room comes back: with $0.011 spent and
  // one call in flight there is room for exactly one more.
  guard.settle(*first, 0.001);
  auto fourth = guard.reserve("m", k_messages, 1000);
  REQUIRE(fourth.has_value());
  guard.settle(*second, std::nullopt);
  guard.settle(*fourth, std::nullopt);
  auto fifth = guard.reserve("m", k_messages, 1000);
  REQUIRE_FALSE(fifth.has_value());
  // Nothing in flight: the message does not mention reservations.
  CHECK_FALSE(has_text(fifth.error().message, "reserved"));
}

TEST_CASE("money spent by earlier invocations counts against the cap") {
  SpendGuard guard(0.05, 0.05, k_prices);
  auto reserved = guard.reserve("m", k_messages, 1);
  REQUIRE_FALSE(reserved.has_value());
  CHECK(reserved.error().kind == ErrorKind::cost_limit);
}

TEST_CASE("a model without a price is a usage error that names the model and --prices") {
  SpendGuard guard(1, 0, k_prices);
  auto reserved = guard.reserve("openai/gpt-unknown", k_messages, 1000);
  REQUIRE_FALSE(reserved.has_value());
  CHECK(reserved.error().kind == ErrorKind::usage);
  CHECK(reserved.error().message ==
        "--max-cost needs the price of model openai/gpt-unknown: give it with --prices "
        "(MODEL=PROMPT,COMPLETION per million tokens)");
  CHECK(guard.reserved() == 0);
}

TEST_CASE("a free model always fits") {
  SpendGuard guard(0, 0, {{"local", Price{0, 0}}});
  for (int i = 0; i < 3; ++i) {
    auto reserved = guard.reserve("local", k_messages, 100000);
    REQUIRE(reserved.has_value());
    guard.settle(*reserved, std::nullopt);
  }
  CHECK(guard.spent() == 0);
}

TEST_CASE("reservations from many threads at once never pass the cap") {
  constexpr int k_calls_that_fit = 10;
  SpendGuard guard(k_calls_that_fit * k_call_usd, 0, k_prices);
  std::atomic<int> granted{0};
  std::atomic<int> in_flight{0};
  std::atomic<int> most_in_flight{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto reserved = guard.reserve("m", k_messages, 1000);
        if (!reserved) continue;
        ++granted;
        const int now = ++in_flight;
        int seen = most_in_flight.load();
        while (now > seen && !most_in_flight.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        --in_flight;
        guard.settle(*reserved, *reserved);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(granted.load() == k_calls_that_fit);
  CHECK(most_in_flight.load() <= k_calls_that_fit);
  CHECK(guard.reserved() == 0);
  CHECK(guard.spent() <= guard.cap() + 1e-9);
}

TEST_CASE("the estimate takes a cache write dearer than the base price as the worst case") {
  Price written{3, 6};
  written.cache_read_per_million = 0.3;
  written.cache_write_per_million = 3.75;
  SpendGuard guard(1, 0, {{"m", written}});
  const auto cost = guard.estimate("m", k_messages, 1000);
  REQUIRE(cost);
  CHECK(*cost == doctest::Approx((14 * 3.75 + 1000 * 6.0) / 1e6));
  // A cache write that costs no more than the base price changes nothing.
  Price free_writes{3, 6};
  free_writes.cache_read_per_million = 1.5;
  CHECK(*SpendGuard(1, 0, {{"m", free_writes}}).estimate("m", k_messages, 1000) == doctest::Approx(k_call_usd));
}

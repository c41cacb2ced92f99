#include <doctest/doctest.h>

#include "lib/llm/chat.hpp"

using pipeline::llm::Attempt;
using pipeline::llm::Usage;

TEST_CASE("usages add up, and a cost stays unknown only when no part knows it") {
  Usage total;
  CHECK_FALSE(total.cost_usd);
  total += Usage{10, 5, 2, 1, std::nullopt};
  CHECK_FALSE(total.cost_usd);
  total += Usage{20, 7, 0, 3, 0.25};
  total += Usage{1, 1, 1, 1, 0.5};
  CHECK(total.prompt_tokens == 31);
  CHECK(total.completion_tokens == 13);
  CHECK(total.cached_tokens == 3);
  CHECK(total.reasoning_tokens == 5);
  REQUIRE(total.cost_usd);
  CHECK(*total.cost_usd == doctest::Approx(0.75));
}

TEST_CASE("usage survives a JSON round trip, an unknown cost as null") {
  const Usage usage{12, 34, 5, 6, 0.125};
  const auto json = usage.to_json();
  CHECK(json["cost_usd"] == 0.125);
  const Usage back = Usage::from_json(json);
  CHECK(back.prompt_tokens == 12);
  CHECK(back.completion_tokens == 34);
  CHECK(back.cached_tokens == 5);
  CHECK(back.reasoning_tokens == 6);
  CHECK(back.cost_usd == 0.125);
  CHECK(Usage{}.to_json()["cost_usd"].is_null());
  CHECK_FALSE(Usage::from_json(Usage{}.to_json()).cost_usd);
  CHECK(Usage::from_json("junk").prompt_tokens == 0);
}

TEST_CASE("an attempt is written with every field") {
  Attempt attempt;
  attempt.number = 2;
  attempt.http_status = 429;
  attempt.error_class = "http_429";
  attempt.wait_before_s = 1.5;
  const auto json = attempt.to_json();
  CHECK(json["number"] == 2);
  CHECK(json["http_status"] == 429);
  CHECK(json["error_class"] == "http_429");
  CHECK(json["wait_before_s"] == 1.5);
  CHECK(json.contains("usage"));
  CHECK(json.contains("duration_s"));
}

namespace {

// The usage of `calls` answers that reported none, with the token estimates made for them.
Usage unreported_usage(std::int64_t calls, std::int64_t prompt, std::int64_t completion) {
  Usage usage;
  usage.unreported_calls = calls;
  usage.estimated_prompt_tokens = prompt;
  usage.estimated_completion_tokens = completion;
  return usage;
}

}  // namespace

TEST_CASE("usage nobody reported is null, with the estimate and the count of such calls beside it") {
  const auto json = unreported_usage(2, 300, 40).to_json();
  // Unknown tokens are not zero tokens.
  CHECK(json["prompt_tokens"].is_null());
  CHECK(json["completion_tokens"].is_null());
  CHECK(json["unreported_calls"] == 2);
  CHECK(json["estimated_prompt_tokens"] == 300);
  CHECK(json["estimated_completion_tokens"] == 40);
  const Usage back = Usage::from_json(json);
  CHECK(back.prompt_tokens == 0);
  CHECK(back.unreported_calls == 2);
  CHECK(back.estimated_completion_tokens == 40);
  CHECK(back.to_json() == json);
}

TEST_CASE("when some calls reported usage, their counts stay numbers beside the unreported ones") {
  Usage mixed = unreported_usage(1, 50, 5);
  mixed.prompt_tokens = 100;
  mixed.completion_tokens = 20;
  const auto json = mixed.to_json();
  CHECK(json["prompt_tokens"] == 100);
  CHECK(json["completion_tokens"] == 20);
  CHECK(json["unreported_calls"] == 1);
  CHECK(json["estimated_prompt_tokens"] == 50);
  CHECK(Usage::from_json(json).to_json() == json);
  // Fully reported usage carries no estimate fields at all.
  const auto reported = Usage{1, 2, 0, 0, std::nullopt}.to_json();
  CHECK_FALSE(reported.contains("unreported_calls"));
  CHECK_FALSE(reported.contains("estimated_prompt_tokens"));
  CHECK_FALSE(reported.contains("estimated_completion_tokens"));
}

TEST_CASE("adding usages sums the unreported calls and their estimates") {
  Usage total{10, 2, 0, 0, std::nullopt};
  total += unreported_usage(1, 70, 9);
  total += unreported_usage(1, 70, 9);
  CHECK(total.prompt_tokens == 10);
  CHECK(total.completion_tokens == 2);
  CHECK(total.unreported_calls == 2);
  CHECK(total.estimated_prompt_tokens == 140);
  CHECK(total.estimated_completion_tokens == 18);
}

TEST_CASE("cache writes add up and survive JSON; older usage without them reads 0") {
  Usage first;
  first.prompt_tokens = 5000;
  first.cached_tokens = 3000;
  first.cache_write_tokens = 1500;
  Usage total = first;
  total += first;
  CHECK(total.cache_write_tokens == 3000);
  const auto json = total.to_json();
  CHECK(json.at("cache_write_tokens") == 3000);
  CHECK(Usage::from_json(json).cache_write_tokens == 3000);
  CHECK(Usage::from_json(nlohmann::json{{"prompt_tokens", 10}, {"cached_tokens", 4}}).cache_write_tokens == 0);
}

#include <doctest/doctest.h>

#include "lib/llm/provider_usage.hpp"

using namespace pipeline::llm;

TEST_CASE("tokens, cached and reasoning tokens and the provider's cost are read") {
  const auto json = nlohmann::json::parse(R"({"prompt_tokens":100,"completion_tokens":40,
      "prompt_tokens_details":{"cached_tokens":30},"completion_tokens_details":{"reasoning_tokens":12},"cost":0.0021})");
  const Usage usage = usage_from_provider(json, "m", {{"m", Price{1000, 1000}}});
  CHECK(usage.prompt_tokens == 100);
  CHECK(usage.completion_tokens == 40);
  CHECK(usage.cached_tokens == 30);
  CHECK(usage.reasoning_tokens == 12);
  // The provider's own figure wins over configured prices.
  CHECK(usage.cost_usd == 0.0021);
}

TEST_CASE("without usage.cost the cost comes from configured prices for the model") {
  const auto json = nlohmann::json::parse(R"({"prompt_tokens":2000000,"completion_tokens":500000})");
  const Usage usage = usage_from_provider(json, "gpt-x", {{"gpt-x", Price{0.15, 0.60}}});
  REQUIRE(usage.cost_usd);
  CHECK(*usage.cost_usd == doctest::Approx(0.30 + 0.30));
}

TEST_CASE("without usage.cost or a price the cost stays unknown") {
  const auto json = nlohmann::json::parse(R"({"prompt_tokens":10,"completion_tokens":5,"prompt_tokens_details":null})");
  const Usage usage = usage_from_provider(json, "other", {{"gpt-x", Price{0.15, 0.60}}});
  CHECK(usage.prompt_tokens == 10);
  CHECK(usage.cached_tokens == 0);
  CHECK_FALSE(usage.cost_usd);
  CHECK_FALSE(usage_from_provider(nullptr, "gpt-x", {}).cost_usd);
}

TEST_CASE("tokens are priced per million, prompt and completion apart") {
  CHECK(price_usage(Price{0.15, 0.60}, 1'000'000, 0) == doctest::Approx(0.15));
  CHECK(price_usage(Price{0.15, 0.60}, 0, 1'000'000) == doctest::Approx(0.60));
  CHECK(price_usage(Price{1, 2}, 300, 50) == doctest::Approx(0.0004));
  CHECK(price_usage(Price{0, 0}, 123456, 7890) == 0);
}

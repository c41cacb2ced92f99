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

TEST_CASE("cache reads and writes are read in each provider's own fields") {
  SUBCASE("OpenRouter: prompt_tokens_details.cached_tokens and cache_write_tokens") {
    const auto usage = usage_from_provider(nlohmann::json::parse(R"({"prompt_tokens":10339,"completion_tokens":60,
        "prompt_tokens_details":{"cached_tokens":10318,"cache_write_tokens":0}})"), "m", {});
    CHECK(usage.prompt_tokens == 10339);
    CHECK(usage.cached_tokens == 10318);
    CHECK(usage.cache_write_tokens == 0);
  }
  SUBCASE("Anthropic beside prompt_tokens: the prompt tokens count everything") {
    const auto usage = usage_from_provider(nlohmann::json::parse(R"({"prompt_tokens":5000,"completion_tokens":80,
        "cache_read_input_tokens":3000,"cache_creation_input_tokens":1500})"), "m", {});
    CHECK(usage.prompt_tokens == 5000);
    CHECK(usage.cached_tokens == 3000);
    CHECK(usage.cache_write_tokens == 1500);
  }
  SUBCASE("Anthropic's own usage: input_tokens leave out the cache's tokens") {
    const auto usage = usage_from_provider(nlohmann::json::parse(R"({"input_tokens":500,"output_tokens":80,
        "cache_read_input_tokens":3000,"cache_creation_input_tokens":1500})"), "m", {});
    CHECK(usage.prompt_tokens == 5000);
    CHECK(usage.completion_tokens == 80);
    CHECK(usage.cached_tokens == 3000);
    CHECK(usage.cache_write_tokens == 1500);
  }
  SUBCASE("DeepSeek: prompt_cache_hit_tokens") {
    const auto usage = usage_from_provider(nlohmann::json::parse(R"({"prompt_tokens":4000,"completion_tokens":10,
        "prompt_cache_hit_tokens":2816,"prompt_cache_miss_tokens":1184})"), "m", {});
    CHECK(usage.cached_tokens == 2816);
    CHECK(usage.cache_write_tokens == 0);
  }
}

TEST_CASE("cached tokens are priced at the cache prices, a dear cache write as such") {
  Price price{3.0, 15.0};
  price.cache_read_per_million = 0.30;
  price.cache_write_per_million = 3.75;
  // 1M prompt tokens: 600k read, 300k written, 100k fresh.
  CHECK(price_usage(price, 1'000'000, 0, 600'000, 300'000) == doctest::Approx(0.18 + 1.125 + 0.30));
  // Without cache prices cached tokens cost what other prompt tokens cost.
  CHECK(price_usage(Price{3.0, 15.0}, 1'000'000, 0, 600'000, 300'000) == doctest::Approx(3.0));
  const auto usage = usage_from_provider(nlohmann::json::parse(R"({"prompt_tokens":1000000,"completion_tokens":0,
      "prompt_tokens_details":{"cached_tokens":600000,"cache_write_tokens":300000}})"), "m", {{"m", price}});
  REQUIRE(usage.cost_usd);
  CHECK(*usage.cost_usd == doctest::Approx(0.18 + 1.125 + 0.30));
}

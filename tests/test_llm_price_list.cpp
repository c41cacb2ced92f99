#include <doctest/doctest.h>

#include "lib/llm/price_list.hpp"

using pipeline::llm::parse_price_list;

TEST_CASE("prices per model in dollars per million tokens") {
  auto prices = parse_price_list("openai/gpt-4o=2.5,10;qwen2.5:7b=0,0;");
  REQUIRE(prices);
  REQUIRE(prices->size() == 2);
  CHECK(prices->at("openai/gpt-4o").prompt_per_million == doctest::Approx(2.5));
  CHECK(prices->at("openai/gpt-4o").completion_per_million == doctest::Approx(10));
  CHECK(prices->at("qwen2.5:7b").prompt_per_million == 0);
  CHECK(parse_price_list("")->empty());
}

TEST_CASE("a price may add the cache read and cache write prices") {
  auto prices = parse_price_list("gpt-4.1=2,8,0.5;claude=3,15,0.3,3.75");
  REQUIRE(prices);
  CHECK(*prices->at("gpt-4.1").cache_read_per_million == doctest::Approx(0.5));
  CHECK_FALSE(prices->at("gpt-4.1").cache_write_per_million);
  CHECK(*prices->at("claude").cache_read_per_million == doctest::Approx(0.3));
  CHECK(*prices->at("claude").cache_write_per_million == doctest::Approx(3.75));
  CHECK_FALSE(parse_price_list("x=1,2")->at("x").cache_read_per_million);
  CHECK_FALSE(parse_price_list("x=1,2,3,4,5"));
  CHECK_FALSE(parse_price_list("x=1,2,,4"));
}

TEST_CASE("a malformed price is a usage error naming the entry") {
  for (const char* text : {"gpt", "gpt=1", "gpt=1,", "=1,2", "gpt=a,2", "gpt=1,-2", "gpt=1,2x"}) {
    auto prices = parse_price_list(text);
    REQUIRE_FALSE_MESSAGE(prices, text);
    CHECK(prices.error().kind == pipeline::util::ErrorKind::usage);
    CHECK(prices.error().message.find("MODEL=PROMPT,COMPLETION") != std::string::npos);
  }
}

TEST_CASE("a models list's per-token prices become prices per million tokens") {
  const auto data = nlohmann::json::parse(R"([
    {"id": "openai/gpt-4o-mini", "pricing": {"prompt": "0.00000015", "completion": "0.0000006"}},
    {"id": "local/numbers", "pricing": {"prompt": 0.000001, "completion": 0}},
    {"id": "meta/free", "pricing": {"prompt": "0", "completion": "0"}},
    {"id": "not/asked", "pricing": {"prompt": "0.000002", "completion": "0.000002"}}
  ])");
  const auto prices =
      pipeline::llm::prices_from_models_list(data, {"openai/gpt-4o-mini", "local/numbers", "meta/free", "absent"});
  REQUIRE(prices.size() == 3);
  CHECK(prices.at("openai/gpt-4o-mini").prompt_per_million == doctest::Approx(0.15));
  CHECK(prices.at("openai/gpt-4o-mini").completion_per_million == doctest::Approx(0.6));
  CHECK(prices.at("local/numbers").prompt_per_million == doctest::Approx(1.0));
  CHECK(prices.at("local/numbers").completion_per_million == 0);
  CHECK(prices.at("meta/free").prompt_per_million == 0);
  CHECK_FALSE(prices.count("not/asked"));
}

TEST_CASE("a models list's cache prices are read where it gives them") {
  const auto data = nlohmann::json::parse(R"([
    {"id": "anthropic/claude-sonnet-4", "pricing": {"prompt": "0.000003", "completion": "0.000015",
     "input_cache_read": "0.0000003", "input_cache_write": "0.00000375"}},
    {"id": "openai/gpt-4.1", "pricing": {"prompt": "0.000002", "completion": "0.000008", "input_cache_read": "0.0000005"}}
  ])");
  const auto prices = pipeline::llm::prices_from_models_list(data, {"anthropic/claude-sonnet-4", "openai/gpt-4.1"});
  REQUIRE(prices.size() == 2);
  CHECK(*prices.at("anthropic/claude-sonnet-4").cache_read_per_million == doctest::Approx(0.3));
  CHECK(*prices.at("anthropic/claude-sonnet-4").cache_write_per_million == doctest::Approx(3.75));
  CHECK(*prices.at("openai/gpt-4.1").cache_read_per_million == doctest::Approx(0.5));
  CHECK_FALSE(prices.at("openai/gpt-4.1").cache_write_per_million);
}

TEST_CASE("entries without a usable price, or not shaped like a models list, are left out") {
  const auto data = nlohmann::json::parse(R"([
    {"id": "no-pricing"},
    {"id": "null-pricing", "pricing": null},
    {"id": "half", "pricing": {"prompt": "0.000001"}},
    {"id": "negative", "pricing": {"prompt": "-1", "completion": "0.000001"}},
    {"id": "garbage", "pricing": {"prompt": "cheap", "completion": "0.000001"}},
    {"id": "trailing", "pricing": {"prompt": "0.000001x", "completion": "0.000001"}},
    {"id": "empty", "pricing": {"prompt": "", "completion": "0.000001"}},
    {"id": "infinite", "pricing": {"prompt": "inf", "completion": "0.000001"}},
    {"id": "boolean", "pricing": {"prompt": true, "completion": "0.000001"}},
    {"pricing": {"prompt": "0.000001", "completion": "0.000001"}},
    {"id": 7, "pricing": {"prompt": "0.000001", "completion": "0.000001"}},
    "good"
  ])");
  const std::vector<std::string> models = {"no-pricing", "null-pricing", "half",  "negative", "garbage",
                                           "trailing",   "empty",        "infinite", "boolean", "good"};
  CHECK(pipeline::llm::prices_from_models_list(data, models).empty());
  CHECK(pipeline::llm::prices_from_models_list(nlohmann::json::object(), models).empty());
  CHECK(pipeline::llm::prices_from_models_list(nullptr, models).empty());
}

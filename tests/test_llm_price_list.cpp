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

TEST_CASE("a malformed price is a usage error naming the entry") {
  for (const char* text : {"gpt", "gpt=1", "gpt=1,", "=1,2", "gpt=a,2", "gpt=1,-2", "gpt=1,2x"}) {
    auto prices = parse_price_list(text);
    REQUIRE_FALSE_MESSAGE(prices, text);
    CHECK(prices.error().kind == pipeline::util::ErrorKind::usage);
    CHECK(prices.error().message.find("MODEL=PROMPT,COMPLETION") != std::string::npos);
  }
}

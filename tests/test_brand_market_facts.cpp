#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/brand/market_facts.hpp"

namespace brand = pipeline::brand;

TEST_CASE("is_currency_code knows ISO 4217 codes, not any three capitals") {
  for (const char* code : {"GBP", "EUR", "USD", "CAD", "JPY", "CHF", "XCG"}) CHECK_MESSAGE(brand::is_currency_code(code), code);
  for (const char* code : {"AAA", "XYZ", "gbp", "GB", "GBPX", ""}) CHECK_FALSE_MESSAGE(brand::is_currency_code(code), code);
}

TEST_CASE("read_market_facts reads what is stated and names each wrong field") {
  std::vector<std::string> problems;
  const auto none = brand::read_market_facts(nlohmann::json{{"id", "x"}}, problems);
  CHECK(problems.empty());
  CHECK(none.currency.empty());
  CHECK(none.channels.empty());
  CHECK_FALSE(none.cold_chain.has_value());

  const nlohmann::json stated = {{"currency", "CAD"},
                                 {"price_position", "premium"},
                                 {"channels", {"subscription", "store_retail", "subscription"}},
                                 {"cold_chain", true},
                                 {"current_prices", {{{"product", "Rain shell"}, {"pack", "one jacket"}, {"price", 349}}}}};
  const auto facts = brand::read_market_facts(stated, problems);
  CHECK(problems.empty());
  CHECK(facts.currency == "CAD");
  CHECK(facts.price_position == "premium");
  CHECK(facts.channels == std::vector<std::string>{"store_retail", "subscription"});
  CHECK(facts.cold_chain == true);
  REQUIRE(facts.current_prices.size() == 1);
  CHECK(facts.current_prices[0].product == "Rain shell");
  CHECK(facts.current_prices[0].price == doctest::Approx(349));

  const nlohmann::json wrong = {{"currency", "AAA"},
                                {"price_position", "luxury"},
                                {"channels", {"market_stall"}},
                                {"cold_chain", 1},
                                {"current_prices", {{{"product", "Rain shell"}, {"pack", ""}, {"price", 10}}}}};
  const auto refused = brand::read_market_facts(wrong, problems);
  REQUIRE(problems.size() == 5);
  CHECK(problems[0].rfind("field \"currency\" must be an ISO 4217 currency code", 0) == 0);
  CHECK(problems[1] == "field \"price_position\" must be one of value, mainstream, premium");
  CHECK(problems[2].rfind("field \"channels\" must be a non-empty array of store_retail", 0) == 0);
  CHECK(problems[3] == "field \"cold_chain\" must be true or false");
  CHECK(problems[4].rfind("field \"current_prices\" item 1 must be", 0) == 0);
  CHECK(refused.currency.empty());
  CHECK(refused.channels.empty());
  CHECK_FALSE(refused.cold_chain.has_value());
  CHECK(refused.current_prices.empty());
}

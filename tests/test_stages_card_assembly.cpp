#include <doctest/doctest.h>

#include "lib/llm/json_schema.hpp"
#include "stages/brand_facts.hpp"
#include "stages/card_assembly.hpp"
#include "stages/card_figures.hpp"
#include "stages/card_schema.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;
using pipeline::testing::sample_card_answer;
using pipeline::testing::sample_output;
using pipeline::testing::sample_plan;

namespace {

nlohmann::json hollowmere_like_profile() {
  nlohmann::json profile = testing::sample_brand_profile();
  profile["currency"] = "GBP";
  profile["current_prices"] = {{{"product", "Skyr-style yoghurt"}, {"pack", "450 g tub"}, {"price", 2.25}},
                               {{"product", "Farmhouse cheddar"}, {"pack", "350 g block"}, {"price", 3.95}}};
  return profile;
}

}  // namespace

TEST_CASE("the writer's answer and its planned concept make the sample card, field for field") {
  const auto facts = stages::brand_facts(testing::sample_brand_profile());
  const auto limits = stages::launch_limits(sample_output(4));
  const auto plan = sample_plan();
  for (const auto& [pattern, expected] : sample_output(5).items()) {
    CAPTURE(pattern);
    const auto card = stages::assemble_card(sample_card_answer(pattern), pattern, plan[pattern], facts, limits);
    CHECK(card == expected);
    CHECK(llm::validate_json(stages::card_schema(pattern), card).empty());
  }
}

TEST_CASE("what the plan fixed is taken from the plan, whatever the answer holds") {
  const auto facts = stages::brand_facts(testing::sample_brand_profile());
  auto concept_json = sample_plan()["premiumisation"];
  concept_json["mechanism_id"] = "M3";
  concept_json["format"] = "6 x 50 g bag";
  concept_json["price_tier"] = "premium";
  auto answer = sample_card_answer("premiumisation");
  // A writer that drifts: another pattern, mechanism, tier and currency.
  answer["pattern"] = "convenience";
  answer["mechanism_id"] = "M1";
  answer["feasibility"]["price_tier"] = "value";
  answer["retail"]["currency"] = "USD";
  const auto card = stages::assemble_card(answer, "premiumisation", concept_json, facts, {});
  CHECK(card["pattern"] == "premiumisation");
  CHECK(card["mechanism_id"] == "M3");
  CHECK(card["feasibility"]["price_tier"] == "premium");
  CHECK(card["format"] == "6 x 50 g bag");
  CHECK(card["retail"]["pack"] == "6 x 50 g bag");
  CHECK(card["brand_anchor"] == concept_json["brand_anchor"]);
  // The currency is the brand's (EUR from Germany), and the price line is written from the price.
  CHECK(card["retail"]["currency"] == "EUR");
  CHECK(card["price_point"] == "EUR 4.99 for 6 x 50 g bag");
  CHECK(card["launch"]["investment"]["currency"] == "EUR");
  // The writer's own wording is kept.
  CHECK(card["description"] == answer["description"]);
  CHECK(card["next_steps"] == answer["next_steps"]);
}

TEST_CASE("a brand whose currency is unknown keeps the writer's") {
  nlohmann::json profile = testing::sample_brand_profile();
  profile["country"] = "Atlantis";
  const auto facts = stages::brand_facts(profile);
  REQUIRE(facts.currency.empty());
  auto answer = sample_card_answer("convenience");
  answer["retail"]["currency"] = "CHF";
  const auto card = stages::assemble_card(answer, "convenience", sample_plan()["convenience"], facts, {});
  CHECK(card["retail"]["currency"] == "CHF");
  CHECK(card["price_point"] == "CHF 3.49 for 4 x 60 g locker bag");
}

TEST_CASE("a comparable chosen from the profile's current prices takes its pack and price from the profile") {
  const auto facts = stages::brand_facts(hollowmere_like_profile());
  auto concept_json = sample_plan()["premiumisation"];
  concept_json["format"] = "4 x 125 g pots";
  auto answer = sample_card_answer("premiumisation");
  answer["comparable"] = {{"product", "Skyr-style yoghurt (450 g tub)"}};
  answer["retail"]["price"] = 2.6;
  const auto card = stages::assemble_card(answer, "premiumisation", concept_json, facts, {});
  CHECK(card["comparable"]["product"] == "Skyr-style yoghurt");
  CHECK(card["comparable"]["pack"] == "450 g tub");
  CHECK(card["comparable"]["price"] == 2.25);
  CHECK(card["comparable"]["source"] == "brand profile");
  CHECK(card["comparable"]["compared_per"] == "per 100 g");
  CHECK(card["comparable"]["price_ratio"] == doctest::Approx(1.04));
  CHECK(card["price_point"] == "GBP 2.60 for 4 x 125 g pots");
  CHECK(llm::validate_json(stages::card_schema("premiumisation"), card).empty());
}

TEST_CASE("a price against its comparable is flagged, and a range given high end first is turned round") {
  const auto facts = stages::brand_facts(testing::sample_brand_profile());
  auto answer = sample_card_answer("premiumisation");
  answer["retail"]["price"] = 2.99;
  answer["launch"]["investment"] = {{"low", 450000}, {"high", 300000}};
  const auto card = stages::assemble_card(answer, "premiumisation", sample_plan()["premiumisation"], facts, {});
  CHECK(card["comparable"]["price_ratio"] == doctest::Approx(0.75));
  CHECK(card["comparable"]["flags"] ==
        nlohmann::json::array({"a premiumisation card priced at 0.75 times its comparable, Acme Morning Rolls per 100 g, "
                               "not above it"}));
  CHECK(card["launch"]["investment"]["low"] == 300000);
  CHECK(card["launch"]["investment"]["high"] == 450000);
  CHECK(llm::validate_json(stages::card_schema("premiumisation"), card).empty());
}

TEST_CASE("a launch beyond the limits is flagged on the card") {
  const auto facts = stages::brand_facts(testing::sample_brand_profile());
  auto answer = sample_card_answer("convenience");
  answer["launch"]["investment"]["high"] = 2400000;
  const auto card =
      stages::assemble_card(answer, "convenience", sample_plan()["convenience"], facts, stages::launch_limits(sample_output(4)));
  REQUIRE(card["launch"]["beyond_limits"].size() == 1);
  CHECK(card["launch"]["beyond_limits"][0] == "investment of up to 2400000 EUR is above the brand's limit of 2000000 EUR");
  CHECK(llm::validate_json(stages::card_schema("convenience"), card).empty());
}

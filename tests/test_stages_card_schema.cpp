#include <doctest/doctest.h>

#include <algorithm>

#include "lib/llm/json_schema.hpp"
#include "stages/brand_facts.hpp"
#include "stages/card_schema.hpp"
#include "tests/support/schema_checks.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;
using pipeline::testing::sample_card_answer;
using pipeline::testing::sample_output;

TEST_CASE("the writer is not asked what the plan, the brand or the program already fixes") {
  const auto facts = stages::brand_facts(testing::sample_brand_profile());
  const auto schema = stages::card_answer_schema(facts);
  CHECK(testing::schema_subset_problems(schema).empty());
  const auto& properties = schema["properties"];
  for (const char* derived : {"pattern", "mechanism_id", "format", "brand_anchor", "price_point"}) {
    CAPTURE(derived);
    CHECK_FALSE(properties.contains(derived));
  }
  CHECK_FALSE(properties["feasibility"]["properties"].contains("price_tier"));
  CHECK(properties["feasibility"]["properties"].contains("price_tier_reason"));
  // The brand's currency is known (Germany), so it is not asked.
  CHECK_FALSE(properties["retail"]["properties"].contains("currency"));
  CHECK(properties["retail"]["description"] == "Retail figures in EUR, all estimates");
  // Without current prices the writer estimates its comparable.
  CHECK(properties["comparable"]["required"] == nlohmann::json({"product", "pack", "price"}));
  CHECK(properties["launch"]["required"] ==
        nlohmann::json({"investment", "new_equipment", "shelf_set", "cannibalises", "copy_defence"}));
  // The cannibalised line suggests the profile's lines.
  CHECK(properties["launch"]["properties"]["cannibalises"]["properties"]["product_line"].contains("anyOf"));
  for (const auto& pattern : {"better_for_you", "premiumisation", "convenience", "format_migration", "occasion_expansion"}) {
    CAPTURE(pattern);
    CHECK(llm::validate_json(schema, sample_card_answer(pattern)).empty());
  }
  // The same brand gives the same schema, byte for byte.
  CHECK(stages::card_answer_schema(facts).dump() == schema.dump());
}

TEST_CASE("a brand of unknown currency is asked for one; a brand with current prices picks its comparable from them") {
  nlohmann::json profile = testing::sample_brand_profile();
  profile["country"] = "Atlantis";
  const auto unknown = stages::card_answer_schema(stages::brand_facts(profile));
  CHECK(unknown["properties"]["retail"]["properties"]["currency"]["pattern"] == "^[A-Z]{3}$");
  CHECK(unknown["properties"]["retail"]["required"].back() == "currency");

  profile["currency"] = "GBP";
  profile["current_prices"] = {{{"product", "Skyr-style yoghurt"}, {"pack", "450 g tub"}, {"price", 2.25}},
                               {{"product", "Farmhouse cheddar"}, {"pack", "350 g block"}, {"price", 3.95}}};
  const auto facts = stages::brand_facts(profile);
  CHECK(stages::comparable_labels(facts) ==
        std::vector<std::string>{"Skyr-style yoghurt (450 g tub)", "Farmhouse cheddar (350 g block)"});
  const auto priced = stages::card_answer_schema(facts);
  const auto& comparable = priced["properties"]["comparable"];
  CHECK(comparable["required"] == nlohmann::json({"product"}));
  CHECK(comparable["properties"]["product"]["enum"] == nlohmann::json(stages::comparable_labels(facts)));
  // No card three times above the dearest pack or below a third of the cheapest.
  const auto& price = priced["properties"]["retail"]["properties"]["price"];
  CHECK(price["minimum"] == doctest::Approx(0.75));
  CHECK(price["maximum"] == doctest::Approx(11.85));
}

TEST_CASE("the whole card's schema holds the derived fields and its pattern") {
  const auto schema = stages::card_schema("convenience");
  CHECK(testing::schema_subset_problems(schema).empty());
  CHECK(schema["properties"]["pattern"]["const"] == "convenience");
  const auto required = schema["required"].get<std::vector<std::string>>();
  for (const char* derived : {"format", "price_point", "comparable", "launch", "brand_anchor", "mechanism_id"}) {
    CAPTURE(derived);
    CHECK(std::find(required.begin(), required.end(), derived) != required.end());
  }
  CHECK(llm::validate_json(schema, sample_output(5)["convenience"]).empty());
  CHECK_FALSE(llm::validate_json(schema, sample_output(5)["premiumisation"]).empty());
  auto reversed = sample_output(5)["convenience"];
  reversed["comparable"]["source"] = "guess";
  CHECK_FALSE(llm::validate_json(schema, reversed).empty());
  CHECK(stages::step_kinds().size() == 3);
  CHECK(stages::price_tiers() == std::vector<std::string>{"value", "mainstream", "premium"});
}

#include <doctest/doctest.h>

#include "stages/brand_facts.hpp"
#include "stages/schema_builder.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;
using stages::brand_facts;

namespace {

nlohmann::json profile(std::string industry, std::string positioning, std::string research = {}) {
  return {{"id", "x"},
          {"company_name", "X"},
          {"industry", std::move(industry)},
          {"positioning", std::move(positioning)},
          {"portfolio", {"Spice jars", "Blends"}},
          {"target_customers", {"Home cooks"}},
          {"recent_innovations", {"Refill pouches"}},
          {"research", std::move(research)}};
}

}  // namespace

TEST_CASE("the profile's names become the anchors a card may use") {
  const auto facts = brand_facts(profile("Spices", "Single-origin spices"));
  CHECK(facts.product_lines == std::vector<std::string>{"Spice jars", "Blends", "Refill pouches"});
  CHECK(facts.customer_segments == std::vector<std::string>{"Home cooks"});
}

TEST_CASE("a cold chain is read from chilled goods in the profile, and refused by what it says outright") {
  CHECK_FALSE(brand_facts(profile("Spices", "Single-origin spices")).cold_chain);
  CHECK(brand_facts(profile("Dairy (milk, yoghurt)", "Grass-fed")).cold_chain);
  CHECK(brand_facts(profile("Ready meals", "Fresh", "Our chilled range grew 8%.")).cold_chain);
  CHECK_FALSE(brand_facts(profile("Snacks", "Crisps", "The plant handles dry goods only; no chilled lines.")).cold_chain);
  CHECK_FALSE(brand_facts(nullptr).cold_chain);
}

TEST_CASE("a direct channel is read from a channel of the brand's own, not a partner's") {
  CHECK_FALSE(brand_facts(profile("Spices", "Single-origin spices", "70% of sales are in grocery stores.")).direct_channel);
  CHECK(brand_facts(profile("Spices", "Single-origin", "22% from its own website.")).direct_channel);
  CHECK(brand_facts(profile("Dairy", "Grass-fed", "The co-op sells direct to consumers at farm gates.")).direct_channel);
  // A pilot with a delivery partner is the partner's channel.
  const auto partner = brand_facts(profile("Dairy", "Grass-fed", "A glass-bottle pilot with a doorstep-delivery partner."));
  CHECK_FALSE(partner.direct_channel);
  CHECK(partner.channels == std::vector<std::string>{"store_retail", "online_retail", "foodservice"});
  CHECK_FALSE(brand_facts(profile("Spices", "Spices", "A subscription test failed; it has no direct channel.")).direct_channel);
}

TEST_CASE("facts the profile states hold over its words, and each guess is named") {
  auto stated = profile("Dairy (milk, yoghurt)", "Budget staples", "22% from its own website.");
  stated["currency"] = "EUR";
  stated["price_position"] = "premium";
  stated["channels"] = {"subscription", "store_retail"};
  stated["cold_chain"] = false;
  stated["current_prices"] = {{{"product", "Spice jars"}, {"pack", "50 g jar"}, {"price", 3.49}}};
  const auto facts = brand_facts(stated);
  CHECK_FALSE(facts.cold_chain);  // though the industry says dairy
  CHECK(facts.price_position == "premium");
  CHECK_FALSE(facts.value_brand);  // though the positioning says budget
  CHECK(facts.channels == std::vector<std::string>{"store_retail", "subscription"});
  CHECK(facts.direct_channel);
  CHECK(stages::channel_options(facts) == std::vector<std::string>{"store_retail", "subscription"});
  CHECK(facts.currency == "EUR");
  REQUIRE(facts.current_prices.size() == 1);
  CHECK(facts.current_prices[0].price == doctest::Approx(3.49));
  CHECK(facts.inferred.empty());
  CHECK(stages::facts_summary(facts).find("Cold chain: no (stated)") != std::string::npos);

  auto guessed = profile("Dairy (milk, yoghurt)", "Budget staples", "22% from its own website.");
  guessed["country"] = "United Kingdom";
  const auto inferred = brand_facts(guessed);
  CHECK(inferred.cold_chain);
  CHECK(inferred.value_brand);
  CHECK(inferred.direct_channel);
  CHECK(inferred.currency == "GBP");
  const std::vector<std::string> expected = {
      "cold chain taken as yes from the word \"dairy\" in the profile",
      "channels taken to include direct_to_consumer and subscription from \"own website\" in the profile",
      "price position taken as value from \"budget\" in the positioning",
      "currency taken as GBP from the country \"United Kingdom\"",
      "no current prices: a card's price cannot be set beside the brand's own"};
  CHECK(inferred.inferred == expected);
  const std::string summary = stages::facts_summary(inferred);
  CHECK(summary.find("Currency: GBP (inferred)") != std::string::npos);
  CHECK(summary.find("Cold chain: yes (inferred)") != std::string::npos);
  CHECK(summary.find("  inferred: price position taken as value") != std::string::npos);
}

TEST_CASE("a value brand is read from its positioning only") {
  CHECK(brand_facts(profile("Apparel", "Rainwear priced well below the premium leaders")).value_brand);
  CHECK(brand_facts(profile("Groceries", "Budget staples for every family")).value_brand);
  CHECK_FALSE(brand_facts(profile("Spices", "Single-origin spices", "Shoppers on a budget trade down.")).value_brand);
}

TEST_CASE("the example brands read as their research notes describe them") {
  // Inline profiles standing in for examples/brands: Marigold's plant handles dry goods; Hollowmere makes dairy.
  const auto marigold = brand_facts(profile("Spices, seasonings and condiments", "One honest step above the mainstream",
                                            "The plant handles dry goods only. 22% from its own website."));
  CHECK_FALSE(marigold.cold_chain);
  CHECK(marigold.direct_channel);
  const auto sample = brand_facts(testing::sample_brand_profile());
  CHECK_FALSE(sample.cold_chain);
  CHECK_FALSE(sample.direct_channel);
  CHECK_FALSE(sample.value_brand);
}

TEST_CASE("storage and channel options follow the facts") {
  stages::BrandFacts none;
  CHECK(stages::storage_options(none) == std::vector<std::string>{"ambient"});
  CHECK(stages::channel_options(none) == std::vector<std::string>{"store_retail", "online_retail", "foodservice"});
  stages::BrandFacts both;
  both.cold_chain = true;
  both.direct_channel = true;
  CHECK(stages::storage_options(both) == std::vector<std::string>{"ambient", "chilled", "frozen"});
  CHECK(stages::channel_options(both).back() == "subscription");
}

TEST_CASE("the feasibility rules say what the brand lacks") {
  stages::BrandFacts none;
  none.value_brand = true;
  const std::string rules = stages::feasibility_rules(none);
  CHECK(rules.find("no cold chain") != std::string::npos);
  CHECK(rules.find("no subscription, no direct-to-consumer offer") != std::string::npos);
  CHECK(rules.find("positioned on price") != std::string::npos);
  CHECK(rules.find("heavy consumer education") != std::string::npos);
  stages::BrandFacts both;
  both.cold_chain = true;
  both.direct_channel = true;
  const std::string open = stages::feasibility_rules(both);
  CHECK(open.find("no cold chain") == std::string::npos);
  CHECK(open.find("within reach") != std::string::npos);
}

TEST_CASE("limit_brand_refs suggests the profile's names and keeps only the options the brand has") {
  using namespace stages::schema;
  const auto anchor = object({{"product_line", string("Line", 200)}, {"customer_segment", string("Who", 200)},
                              {"competitor", string("Rival", 100)}});
  const auto card = object({{"brand_anchor", anchor},
                            {"steps", array(object({{"brand_anchor", anchor}}), 1, 2)},
                            {"feasibility", object({{"storage", enumeration({"ambient", "chilled", "frozen"}, "S")},
                                                    {"channel", enumeration({"store_retail", "subscription"}, "C")}})}});
  const auto facts = brand_facts(profile("Spices", "Single-origin spices"));
  const auto limited = stages::limit_brand_refs(card, facts);
  const auto& line = limited["properties"]["brand_anchor"]["properties"]["product_line"];
  CHECK(line["anyOf"][0]["enum"] == nlohmann::json(facts.product_lines));
  CHECK(line["description"] == "Line");
  CHECK(limited["properties"]["brand_anchor"]["properties"]["customer_segment"]["anyOf"][0]["enum"] ==
        nlohmann::json({"Home cooks"}));
  CHECK(limited["properties"]["brand_anchor"]["properties"]["competitor"] == anchor["properties"]["competitor"]);
  CHECK(limited["properties"]["steps"]["items"]["properties"]["brand_anchor"]["properties"]["product_line"].contains("anyOf"));
  CHECK(limited["properties"]["feasibility"]["properties"]["storage"]["enum"] == nlohmann::json({"ambient"}));
  CHECK(limited["properties"]["feasibility"]["properties"]["channel"]["enum"] ==
        nlohmann::json({"store_retail", "online_retail", "foodservice"}));
}

#include <doctest/doctest.h>

#include "stages/brand_facts.hpp"
#include "stages/card_figures.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;
using pipeline::testing::sample_output;

namespace {

stages::BrandFacts bakery_facts() { return stages::brand_facts(testing::sample_brand_profile()); }

}  // namespace

TEST_CASE("a pack's quantity is read in grams, millilitres or pieces") {
  const auto grams = [](const char* pack) {
    const auto quantity = stages::pack_quantity(pack);
    REQUIRE(quantity);
    CHECK(quantity->unit == "g");
    return quantity->amount;
  };
  CHECK(grams("4 x 125 g") == doctest::Approx(500));
  CHECK(grams("350 g block") == doctest::Approx(350));
  CHECK(grams("1.5 kg bag") == doctest::Approx(1500));
  CHECK(grams("6 × 20g snack pack") == doctest::Approx(120));
  CHECK(grams("0,5 kg") == doctest::Approx(500));
  const auto litre = stages::pack_quantity("2 litre bottle");
  REQUIRE(litre);
  CHECK(litre->unit == "ml");
  CHECK(litre->amount == doctest::Approx(2000));
  const auto centilitres = stages::pack_quantity("Can of 33 cl");
  REQUIRE(centilitres);
  CHECK(centilitres->amount == doctest::Approx(330));
  const auto bars = stages::pack_quantity("12 bars");
  REQUIRE(bars);
  CHECK(bars->unit == "piece");
  CHECK(bars->amount == doctest::Approx(12));
  CHECK_FALSE(stages::pack_quantity("office crate for 10 people"));
  CHECK_FALSE(stages::pack_quantity("a gift box"));
  // A letter right after the unit is another word, not the unit.
  CHECK_FALSE(stages::pack_quantity("3 gift boxes"));
}

TEST_CASE("the price line is written from the price, the currency and the pack") {
  CHECK(stages::price_line(3.5, "GBP", "4 x 125 g pot pack") == "GBP 3.50 for 4 x 125 g pot pack");
  CHECK(stages::price_line(12, "USD", "") == "USD 12.00");
  CHECK(stages::price_line(0.99, "", "40 g bar") == "0.99 for 40 g bar");
}

TEST_CASE("prices compare per 100 g or 100 ml when both packs say their size, else per pack") {
  const auto per_gram = stages::compare_prices(4.99, "4 x 80 g bag", 3.49, "4 x 70 g bag");
  CHECK(per_gram.per == "per 100 g");
  CHECK(per_gram.ratio == doctest::Approx((4.99 / 320) / (3.49 / 280)));
  const auto per_ml = stages::compare_prices(1.2, "330 ml can", 1.85, "2 litre bottle");
  CHECK(per_ml.per == "per 100 ml");
  CHECK(per_ml.ratio == doctest::Approx((1.2 / 330) / (1.85 / 2000)));
  const auto mixed = stages::compare_prices(4.0, "500 g tub", 2.0, "1 litre bottle");
  CHECK(mixed.per == "per pack");
  CHECK(mixed.ratio == doctest::Approx(2.0));
  CHECK(stages::compare_prices(6, "6 bars", 1, "1 bar").per == "per piece");
}

TEST_CASE("stage 4's thresholds and launch limits are read from its output") {
  const auto thresholds = stages::retail_thresholds(sample_output(4));
  REQUIRE(thresholds.units_per_store_per_week);
  CHECK(*thresholds.units_per_store_per_week == doctest::Approx(12));
  CHECK(*thresholds.gross_margin_pct == doctest::Approx(30));
  const auto limits = stages::launch_limits(sample_output(4));
  CHECK(*limits.largest_investment == doctest::Approx(2000000));
  CHECK(*limits.longest_months_to_launch == 18);
  CHECK_FALSE(stages::retail_thresholds(nlohmann::json::object()).gross_margin_pct);
  CHECK_FALSE(stages::launch_limits(nullptr).largest_investment);
}

TEST_CASE("a card's price is flagged when it contradicts its comparable or its tier") {
  const auto facts = bakery_facts();
  for (const auto& [pattern, card] : sample_output(5).items()) {
    CAPTURE(pattern);
    CHECK(stages::price_flags(card, pattern, facts).empty());
  }
  const auto only = [](const std::vector<std::string>& flags) {
    REQUIRE(flags.size() == 1);
    return flags.front();
  };
  auto premium = sample_output(5)["premiumisation"];
  premium["comparable"]["price_ratio"] = 0.95;
  CHECK(only(stages::price_flags(premium, "premiumisation", facts)) ==
        "a premiumisation card priced at 0.95 times its comparable, Acme Morning Rolls per 100 g, not above it");
  auto far = sample_output(5)["convenience"];
  far["comparable"]["price_ratio"] = 8.77;
  CHECK(only(stages::price_flags(far, "convenience", facts)) ==
        "priced at 8.8 times its comparable, Acme Morning Rolls per 100 g: a comparable this far away is no anchor");
  auto cheap = sample_output(5)["convenience"];
  cheap["comparable"]["price_ratio"] = 0.3;
  CHECK(stages::price_flags(cheap, "convenience", facts).size() == 1);
  auto value = sample_output(5)["format_migration"];
  value["feasibility"]["price_tier"] = "value";
  value["comparable"]["price_ratio"] = 1.2;
  CHECK(only(stages::price_flags(value, "format_migration", facts)).find("a value-tier card priced at 1.20 times") == 0);
  // A premium card of a brand positioned on price says what earns the premium.
  auto thrifty = facts;
  thrifty.value_brand = true;
  auto terse = sample_output(5)["premiumisation"];
  terse["feasibility"]["price_tier_reason"] = "Better rye";
  CHECK(only(stages::price_flags(terse, "premiumisation", thrifty)).find("positioned on price") != std::string::npos);
  CHECK(stages::price_flags(terse, "premiumisation", facts).empty());
  CHECK(stages::price_flags(sample_output(5)["premiumisation"], "premiumisation", thrifty).empty());
}

TEST_CASE("a card below stage 4's thresholds says why") {
  const auto thresholds = stages::retail_thresholds(sample_output(4));
  CHECK(stages::threshold_problems(sample_output(5)["premiumisation"], thresholds).empty());
  auto silent = sample_output(5)["premiumisation"];
  silent["retail"]["below_threshold_reason"] = nullptr;
  const std::string problem = stages::threshold_problems(silent, thresholds);
  CHECK(problem.find("8.0 units per store per week is below stage 4's threshold of 12.0") != std::string::npos);
  CHECK(problem.find("below_threshold_reason") != std::string::npos);
  auto thin = sample_output(5)["convenience"];
  thin["retail"]["gross_margin_pct"] = 22;
  CHECK(stages::threshold_problems(thin, thresholds).find("22.0 % is below stage 4's threshold of 30.0 %") != std::string::npos);
  CHECK(stages::threshold_problems(thin, {}).empty());
}

TEST_CASE("a card's launch holds together and names the brand's own line") {
  const auto facts = bakery_facts();
  for (const auto& [pattern, card] : sample_output(5).items()) CHECK(stages::launch_problems(card, facts).empty());
  auto card = sample_output(5)["convenience"];
  card["launch"]["new_equipment"] = {{"needed", true}, {"what", nullptr}};
  card["launch"]["cannibalises"]["product_line"] = "Frozen pizza";
  const std::string problems = stages::launch_problems(card, facts);
  CHECK(problems.find("name what it is") != std::string::npos);
  CHECK(problems.find("\"Frozen pizza\" names no product line") != std::string::npos);
}

TEST_CASE("a launch beyond the brand's limits is flagged, not refused") {
  const auto limits = stages::launch_limits(sample_output(4));
  CHECK(stages::launch_flags(sample_output(5)["convenience"], limits, "EUR").empty());
  auto big = sample_output(5)["convenience"];
  big["launch"]["investment"]["high"] = 2500000;
  big["retail"]["months_to_launch"] = 24;
  const auto flags = stages::launch_flags(big, limits, "EUR");
  REQUIRE(flags.size() == 2);
  CHECK(flags[0] == "investment of up to 2500000 EUR is above the brand's limit of 2000000 EUR");
  CHECK(flags[1] == "24 months to launch is beyond the brand's limit of 18 months");
  CHECK(stages::launch_flags(big, {}, "EUR").empty());
}

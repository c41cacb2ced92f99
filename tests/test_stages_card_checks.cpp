#include <doctest/doctest.h>

#include "stages/card_checks.hpp"
#include "stages/card_distinctness.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;
using pipeline::testing::sample_output;

namespace {

const stages::BrandFacts& sample_facts() {
  static const stages::BrandFacts facts = stages::brand_facts(testing::sample_brand_profile());
  return facts;
}

// A plan from the sample cards: distinct titles, shoppers, occasions and formats.
nlohmann::json plan() {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [pattern, card] : sample_output(5).items()) {
    out[pattern] = {{"title", card["title"]}, {"shopper", card["description"]["who"]}, {"occasion", "At " + pattern},
                    {"format", card["format"]}, {"brand_anchor", card["brand_anchor"]}};
  }
  return out;
}

}  // namespace

TEST_CASE("names_one_of accepts containment of whole words either way, ignoring case and spaces") {
  const std::vector<std::string> names = {"Cumbrian farmhouse cheddar: mild, mature (200 g)", "Plain kefir"};
  CHECK(stages::names_one_of("cumbrian  FARMHOUSE cheddar", names));
  CHECK(stages::names_one_of("Hollowmere plain kefir (500 ml)", names));
  CHECK_FALSE(stages::names_one_of("Oat milk", names));
  CHECK_FALSE(stages::names_one_of("ch", names));
  CHECK_FALSE(stages::names_one_of("", names));
  // A fragment of a word names nothing.
  CHECK_FALSE(stages::names_one_of("jar", {"Spice jars", "Blends"}));
  CHECK_FALSE(stages::names_one_of("kef", names));
  CHECK_FALSE(stages::names_one_of("farmhouse ched", names));
  CHECK(stages::names_one_of("spice jars", {"Spice jars (50 g)"}));
}

TEST_CASE("a brand anchor must name a product line and a target customer of the profile") {
  const auto& card = sample_output(5)["convenience"];
  CHECK(stages::anchors_problems(card, sample_facts()).empty());
  auto stray = card;
  stray["brand_anchor"]["product_line"] = "Frozen pizza";
  const std::string line = stages::anchors_problems(stray, sample_facts());
  CHECK(line.find("product_line \"Frozen pizza\"") != std::string::npos);
  CHECK(line.find("customer_segment") == std::string::npos);
  stray["brand_anchor"]["customer_segment"] = "Students";
  CHECK(stages::anchors_problems(stray, sample_facts()).find("customer_segment \"Students\"") != std::string::npos);
  // A profile without names has nothing to hold an anchor to.
  CHECK(stages::anchors_problems(stray, stages::BrandFacts{}).empty());
}

TEST_CASE("a plan's anchors are checked per pattern") {
  CHECK(stages::anchors_problems(plan(), sample_facts()).empty());
  auto stray = plan();
  stray["premiumisation"]["brand_anchor"]["customer_segment"] = "Tourists";
  const std::string problems = stages::anchors_problems(stray, sample_facts());
  CHECK(problems.find("the premiumisation concept's") != std::string::npos);
  CHECK(problems.find("convenience") == std::string::npos);
}

TEST_CASE("plan concepts may not share a title, a shopper and occasion, or a format") {
  CHECK(stages::plan_problems(plan()).empty());
  auto title = plan();
  title["occasion_expansion"]["title"] = "  morning rolls FROM the\tstation  locker ";
  CHECK(stages::plan_problems(title).find("convenience and occasion_expansion have the same title") != std::string::npos);
  auto pair = plan();
  pair["format_migration"]["shopper"] = pair["better_for_you"]["shopper"];
  CHECK(stages::plan_problems(pair).empty());  // the same shopper on another occasion is fine
  pair["format_migration"]["occasion"] = "at better_for_you";
  CHECK(stages::plan_problems(pair).find("better_for_you and format_migration are for the same shopper") != std::string::npos);
  auto format = plan();
  format["premiumisation"]["format"] = "4 X 60 G  locker BAG";
  const std::string problems = stages::plan_problems(format);
  CHECK(problems.find("premiumisation and convenience have the same format") != std::string::npos);
  CHECK(problems.find("same title") == std::string::npos);
}

TEST_CASE("a card may not take a title planned for another pattern") {
  const auto& card = sample_output(5)["premiumisation"];
  CHECK(stages::card_title_problem(card, plan(), "premiumisation").empty());
  auto taken = card;
  taken["title"] = "Morning Rolls from the STATION locker";
  const std::string problem = stages::card_title_problem(taken, plan(), "premiumisation");
  CHECK(problem.find("belongs to the convenience card") != std::string::npos);
  CHECK(problem.find(card["title"].get<std::string>()) != std::string::npos);
}

TEST_CASE("feasibility: a brand without a cold chain or a direct channel gets neither") {
  const auto& card = sample_output(5)["format_migration"];
  CHECK(stages::feasibility_problems(card, sample_facts()).empty());
  auto chilled = card;
  chilled["feasibility"]["storage"] = "chilled";
  CHECK(stages::feasibility_problems(chilled, sample_facts()).find("storage \"chilled\"") != std::string::npos);
  auto frozen = card;
  frozen["description"]["what"] = "Frozen dough for six rolls.";
  CHECK(stages::feasibility_problems(frozen, sample_facts()).find("no cold chain") != std::string::npos);
  auto subscribed = card;
  subscribed["feasibility"]["channel"] = "subscription";
  subscribed["price_point"] = "EUR 9 a month on subscription";
  const std::string direct = stages::feasibility_problems(subscribed, sample_facts());
  CHECK(direct.find("channel \"subscription\"") != std::string::npos);
  CHECK(direct.find("no channel of its own") != std::string::npos);
  // A brand with both may offer both.
  stages::BrandFacts both = sample_facts();
  both.cold_chain = true;
  both.direct_channel = true;
  both.channels.insert(both.channels.end(), {"direct_to_consumer", "subscription"});
  CHECK(stages::feasibility_problems(chilled, both).empty());
  CHECK(stages::feasibility_problems(subscribed, both).empty());
}

TEST_CASE("across the cards: a repeated next step, buyer question or set of figures names the later card") {
  CHECK(stages::card_repeats(sample_output(5)).empty());
  auto cards = sample_output(5);
  cards["occasion_expansion"]["next_steps"]["claim_proof"]["action"] =
      "  RUN a 3-day mould test of the recipe in an accredited lab";
  cards["convenience"]["buyer_questions"]["trade_terms"] = cards["premiumisation"]["buyer_questions"]["trade_terms"];
  cards["format_migration"]["retail"] = cards["better_for_you"]["retail"];
  const auto repeats = stages::card_repeats(cards);
  REQUIRE(repeats.size() == 3);
  CHECK(repeats.at("occasion_expansion").find("is also a next step of the better_for_you card") != std::string::npos);
  CHECK(repeats.at("convenience").find("is also asked on the premiumisation card") != std::string::npos);
  CHECK(repeats.at("format_migration").find("retail figures (3.99 EUR / 35.00 units / 38.0 %)") != std::string::npos);
}

TEST_CASE("the same months to launch alone is not a repeat") {
  auto cards = sample_output(5);
  cards["convenience"]["retail"]["months_to_launch"] = cards["better_for_you"]["retail"]["months_to_launch"];
  CHECK(stages::card_repeats(cards).empty());
}

TEST_CASE("repeats_against compares one card with the others it is given") {
  const auto cards = sample_output(5);
  std::map<std::string, nlohmann::json> others = {{"convenience", cards["convenience"]}};
  CHECK(stages::repeats_against(cards["better_for_you"], others).empty());
  auto copy = cards["better_for_you"];
  copy["buyer_questions"]["versus_competitor"]["question"] = cards["convenience"]["buyer_questions"]["versus_competitor"]["question"];
  CHECK(stages::repeats_against(copy, others).find("convenience card") != std::string::npos);
}

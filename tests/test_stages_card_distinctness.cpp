#include <doctest/doctest.h>

#include "stages/card_checks.hpp"
#include "stages/card_distinctness.hpp"
#include "stages/stage_registry.hpp"
#include "stages/vocabulary.hpp"
#include "tests/support/memory_stage_work.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;
using nlohmann::json;

namespace {

// A plan whose five concepts differ, as the sample cards do.
json distinct_plan() {
  return {{"better_for_you", {{"concept", "Wholegrain rye rolls with half the salt, for lunchboxes"},
                              {"shopper", "Parents packing school lunches"}, {"occasion", "School lunch"},
                              {"format", "6 x 60 g bag"}}},
          {"premiumisation", {{"concept", "48-hour sourdough rolls from a named mill's heritage wheat"},
                              {"shopper", "Weekend food lovers"}, {"occasion", "Saturday brunch"},
                              {"format", "4 x 90 g box"}}},
          {"convenience", {{"concept", "Breakfast rolls collected from a station locker, ordered the night before"},
                           {"shopper", "Rail commuters"}, {"occasion", "Weekday commute"},
                           {"format", "2-roll paper pouch"}}},
          {"format_migration", {{"concept", "The rolls' dough as a frozen bake-at-home tray"},
                                {"shopper", "Households baking on Sundays"}, {"occasion", "Sunday dinner"},
                                {"format", "8-piece tray"}}},
          {"occasion_expansion", {{"concept", "A Monday office breakfast box delivered to teams"},
                                  {"shopper", "Office managers"}, {"occasion", "Monday team meeting"},
                                  {"format", "20-roll catering box"}}}};
}

}  // namespace

TEST_CASE("plan_concept_repeats: distinct concepts pass, a concept reworded for another pattern is named") {
  auto plan = distinct_plan();
  for (const auto& pattern : stages::vocabulary::patterns()) plan[pattern]["title"] = pattern + " title";
  CHECK(stages::plan_concept_repeats(plan).empty());
  // The same product in other words: word order, plurals and stop words change, the content words do not.
  plan["occasion_expansion"] = {{"concept", "For rail commuters: breakfast rolls ordered the night before and collected "
                                            "from lockers at the station"},
                                {"shopper", "Commuters by rail"}, {"occasion", "The weekday commute"},
                                {"format", "Paper pouch of 2 rolls"}, {"title", "Station rolls"}};
  const auto problems = stages::plan_concept_repeats(plan);
  CHECK(problems.find("the convenience and occasion_expansion concepts say much the same in other words") == 0);
  CHECK(problems.find("premiumisation") == std::string::npos);
  CHECK(problems.find("not a rewording") != std::string::npos);
  // The exact-string check of card_checks sees nothing: no field is equal.
  CHECK(stages::plan_problems(plan).empty());
}

TEST_CASE("paraphrase_repeats: a next step or buyer question reworded from another card is a repeat") {
  const auto& cards = testing::sample_output(5);
  std::map<std::string, json> others;
  for (const auto& pattern : stages::vocabulary::patterns())
    if (pattern != "convenience") others[pattern] = cards.at(pattern);
  json card = cards.at("convenience");
  CHECK(stages::paraphrase_repeats(card, others).empty());
  CHECK(stages::repeats_against(card, others).empty());

  // The premiumisation card's retailer test, reworded.
  const std::string theirs = cards.at("premiumisation").at("next_steps").at("retailer_test").at("action");
  CAPTURE(theirs);
  card["next_steps"]["retailer_test"]["action"] = "Over the same stores and weeks: " + theirs;
  const auto problems = stages::paraphrase_repeats(card, others);
  CHECK(problems.find("the next step \"Over the same stores and weeks: ") == 0);
  CHECK(problems.find("the premiumisation card's \"" + theirs + "\"") != std::string::npos);

  // An exact copy is named once, by the exact check, not again as a paraphrase.
  card = cards.at("convenience");
  card["buyer_questions"]["trade_terms"] = cards.at("premiumisation").at("buyer_questions").at("trade_terms");
  CHECK(stages::paraphrase_repeats(card, others).empty());
  CHECK(stages::repeats_against(card, others).find("is also asked on the premiumisation card") != std::string::npos);
}

TEST_CASE("paraphrase_repeats compares a question with questions and a step with steps only") {
  json card = testing::sample_output(5).at("convenience");
  json other = testing::sample_output(5).at("premiumisation");
  const std::string step = other.at("next_steps").at("claim_proof").at("action");
  card["buyer_questions"]["trade_terms"] = "So, " + step;
  CHECK(stages::paraphrase_repeats(card, {{"premiumisation", other}}).empty());
}

TEST_CASE("recheck_repeats: after the re-ask round, a card that still repeats another is asked once more") {
  const auto& sample = testing::sample_output(5);
  json cards = sample;
  // Two cards re-asked in the same round came back with one next step alike.
  cards["format_migration"]["next_steps"]["claim_proof"] = sample.at("better_for_you").at("next_steps").at("claim_proof");
  testing::MemoryStageWork work(testing::sample_context(5), {0.8, 4000, {}});
  work.set_answer([&](const stages::NamedRequest&) -> util::Expected<json> { return sample.at("format_migration"); });
  std::vector<std::string> asked;
  auto rechecked = stages::recheck_repeats(work, cards, [&](const std::string& pattern, const json& card,
                                                             const std::string& problem,
                                                             const std::map<std::string, json>& others) {
    asked.push_back(pattern);
    CHECK(card == cards.at(pattern));
    CHECK(problem.find("is also a next step of the better_for_you card") != std::string::npos);
    CHECK(others.size() == 4);
    CHECK(others.count(pattern) == 0);
    stages::NamedRequest request;
    request.part = "card-" + stages::vocabulary::dashed(pattern) + "-again-2";
    return request;
  });
  REQUIRE(rechecked);
  CHECK(asked == std::vector<std::string>{"format_migration"});
  CHECK(*rechecked == sample);
  REQUIRE(work.requests().size() == 1);
  CHECK(work.requests()[0].part == "card-format-migration-again-2");

  // Nothing repeats: no request at all.
  testing::MemoryStageWork quiet(testing::sample_context(5), {0.8, 4000, {}});
  auto unchanged = stages::recheck_repeats(quiet, sample, [](const std::string&, const json&, const std::string&,
                                                            const std::map<std::string, json>&) {
    FAIL("no card repeats another");
    return stages::NamedRequest{};
  });
  REQUIRE(unchanged);
  CHECK(*unchanged == sample);
  CHECK(quiet.requests().empty());
}

TEST_CASE("the threshold: a sentence reworded is a repeat; two steps sharing a retailer and a kind of test are not") {
  const json first = {{"next_steps",
                       {{"retailer_test",
                         {{"action", "Run a price test at 3.49 and 3.99 in 40 Tesco stores over 8 weeks"}}}}}};
  const json reworded = {{"next_steps",
                          {{"retailer_test",
                            {{"action", "Test the prices 3.49 and 3.99 across 40 Tesco stores for 8 weeks"}}}}}};
  const json other_product = {{"next_steps",
                               {{"retailer_test",
                                 {{"action", "List the oat bar multipack in 30 Tesco stores and track its rate of "
                                             "sale for 12 weeks"}}}}}};
  CHECK(stages::paraphrase_repeats(reworded, {{"premiumisation", first}}).find("repeats in other words") !=
        std::string::npos);
  CHECK(stages::paraphrase_repeats(other_product, {{"premiumisation", first}}).empty());
}

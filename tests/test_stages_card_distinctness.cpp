#include <doctest/doctest.h>

#include <algorithm>

#include <fmt/format.h>

#include "stages/card_checks.hpp"
#include "stages/card_distinctness.hpp"
#include "stages/opportunities_stage.hpp"
#include "lib/util/tfidf.hpp"
#include "tests/fake_server/fake_llm_server.hpp"
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

TEST_CASE("paraphrase_repeats leaves texts of fewer than five distinct content words to the exact check") {
  // Three of four words shared: similar by the measure, but too short to tell a rewording from a coincidence.
  json card = testing::sample_output(5).at("format_migration");
  json other = testing::sample_output(5).at("convenience");
  card["buyer_questions"]["trade_terms"] = "Tomato weekly weekly dairy";
  other["buyer_questions"]["trade_terms"] = "Quinoa wholesaler blend weekly dairy weekly";
  CHECK(stages::paraphrase_repeats(card, {{"convenience", other}}).empty());
  // The same words in a sentence long enough are compared.
  card["buyer_questions"]["trade_terms"] = "Will the weekly dairy order cover tomato relish promotion margin";
  other["buyer_questions"]["trade_terms"] = "Does the weekly dairy order cover quinoa relish promotion margin";
  CHECK(stages::paraphrase_repeats(card, {{"convenience", other}}).find("buyer question") != std::string::npos);
}

TEST_CASE("card_repeats reads the five in order: the later card of a pair, exact or reworded, is the one named") {
  const auto& sample = testing::sample_output(5);
  CHECK(stages::card_repeats(sample).empty());
  json cards = sample;
  const std::string theirs = sample.at("premiumisation").at("next_steps").at("retailer_test").at("action");
  cards["occasion_expansion"]["next_steps"]["retailer_test"]["action"] = "Over the same stores and weeks: " + theirs;
  cards["convenience"]["buyer_questions"]["trade_terms"] = sample.at("better_for_you").at("buyer_questions").at("trade_terms");
  const auto repeats = stages::card_repeats(cards);
  REQUIRE(repeats.size() == 2);
  CHECK(repeats.at("occasion_expansion").find("repeats in other words the premiumisation card's") != std::string::npos);
  CHECK(repeats.at("occasion_expansion").find("Each card needs next steps, buyer questions and figures of its own") !=
        std::string::npos);
  CHECK(repeats.at("convenience").find("is also asked on the better_for_you card") != std::string::npos);
  // Both kinds at once, in one text.
  json both = sample.at("occasion_expansion");
  both["next_steps"]["retailer_test"]["action"] = "Over the same stores and weeks: " + theirs;
  both["buyer_questions"]["trade_terms"] = sample.at("better_for_you").at("buyer_questions").at("trade_terms");
  const auto problem = stages::card_repeats_against(both, {{"premiumisation", sample.at("premiumisation")},
                                                           {"better_for_you", sample.at("better_for_you")}});
  CHECK(problem.find("the next step \"Over the same stores and weeks: ") == 0);
  CHECK(problem.find("repeats in other words the premiumisation card's") != std::string::npos);
  CHECK(problem.find("is also asked on the better_for_you card") != std::string::npos);
}

TEST_CASE("recheck_repeats: a card that repeats an earlier one, exactly or reworded, is asked again alone") {
  const auto& sample = testing::sample_output(5);
  json cards = sample;
  // Two cards re-asked in the same round came back with one next step alike, and one reworded.
  cards["format_migration"]["next_steps"]["claim_proof"] = sample.at("better_for_you").at("next_steps").at("claim_proof");
  const std::string theirs = sample.at("premiumisation").at("next_steps").at("retailer_test").at("action");
  cards["occasion_expansion"]["next_steps"]["retailer_test"]["action"] = "Over the same stores and weeks: " + theirs;
  testing::MemoryStageWork work(testing::sample_context(5), {0.8, 4000, {}});
  work.set_answer([&](const stages::NamedRequest& request) -> util::Expected<json> {
    return json{{"answered", request.part}};
  });
  std::vector<std::string> asked;
  stages::RepeatRound round;
  round.ask_again = [&](const std::string& pattern, const std::string& problem, const std::map<std::string, json>& others) {
    asked.push_back(pattern);
    CHECK(problem.find(pattern == "format_migration" ? "is also a next step of the better_for_you card"
                                                     : "repeats in other words the premiumisation card's") !=
          std::string::npos);
    CHECK(others.size() == 4);
    CHECK(others.count(pattern) == 0);
    CHECK(others.at("better_for_you") == cards.at("better_for_you"));
    stages::NamedRequest request;
    request.part = "card-" + stages::vocabulary::dashed(pattern) + "-again-2";
    return request;
  };
  round.card_of = [&](const std::string& pattern, const json& answer) {
    CHECK(answer.at("answered") == "card-" + stages::vocabulary::dashed(pattern) + "-again-2");
    return sample.at(pattern);
  };
  auto rechecked = stages::recheck_repeats(work, cards, round);
  REQUIRE(rechecked);
  CHECK(asked == std::vector<std::string>{"format_migration", "occasion_expansion"});
  CHECK(*rechecked == sample);
  // One request of both, asked at once.
  REQUIRE(work.asks().size() == 1);
  CHECK(work.asks()[0].size() == 2);

  // Nothing repeats: no request at all.
  testing::MemoryStageWork quiet(testing::sample_context(5), {0.8, 4000, {}});
  stages::RepeatRound silent;
  silent.ask_again = [](const std::string&, const std::string&, const std::map<std::string, json>&) {
    FAIL("no card repeats another");
    return stages::NamedRequest{};
  };
  auto unchanged = stages::recheck_repeats(quiet, sample, silent);
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

namespace {

// The most similar pair of one run's texts that the checks compare: steps
// with steps and questions with questions of two different cards.
double most_similar_across_cards(const std::vector<json>& cards) {
  std::vector<std::string> texts;
  std::vector<std::pair<std::size_t, std::string>> owner_kind;
  for (std::size_t i = 0; i < cards.size(); ++i) {
    const auto& steps = cards[i].at("next_steps");
    for (const char* kind : {"production_trial", "retailer_test", "claim_proof"}) {
      texts.push_back(steps.at(kind).at("action"));
      owner_kind.emplace_back(i, "step");
    }
    texts.push_back(cards[i].at("buyer_questions").at("versus_competitor").at("question"));
    owner_kind.emplace_back(i, "question");
    texts.push_back(cards[i].at("buyer_questions").at("trade_terms"));
    owner_kind.emplace_back(i, "question");
  }
  double most = 0;
  for (const auto& pair : util::similar_pairs(texts, 0.0))
    if (owner_kind[pair.first].first != owner_kind[pair.second].first &&
        owner_kind[pair.first].second == owner_kind[pair.second].second)
      most = std::max(most, pair.similarity);
  return most;
}

// The figure at `share` (0 to 1) of sorted `values`.
double percentile(std::vector<double> values, double share) {
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(share * static_cast<double>(values.size() - 1))];
}

}  // namespace

// The fake model's free text measured as stage 5 measures it: for 200
// simulated runs (the five cards' answers and the plan's, seeded per run),
// the most similar pair of next steps or of buyer questions of two cards,
// and of two planned concepts. No run may reach the threshold, or offline
// runs would pay for re-asks.
TEST_CASE("the fake model's free text: unrelated steps, questions and concepts of 200 runs stay below the threshold") {
  testing::MemoryStageWork work(testing::sample_context(5), stages::OpportunitiesStage().default_params());
  REQUIRE(stages::OpportunitiesStage().produce(work));
  const auto asks = work.asks();
  const auto& plan_request = asks.at(0).at(0).request;
  // The first card, then the other four.
  std::vector<stages::NamedRequest> cards(asks.at(1).begin(), asks.at(1).end());
  cards.insert(cards.end(), asks.at(2).begin(), asks.at(2).end());
  REQUIRE(cards.size() == 5);
  std::vector<double> card_highs;
  std::vector<double> plan_highs;
  for (std::uint64_t run = 0; run < 200; ++run) {
    std::vector<json> answered;
    for (std::size_t i = 0; i < cards.size(); ++i) {
      json messages = json::array();
      for (const auto& message : cards[i].request.messages)
        messages.push_back({{"role", message.role}, {"content", message.content}});
      answered.push_back(testing::generate_from_schema(*cards[i].request.schema, run * 7919 + i,
                                                       testing::request_hint(messages))["card"]);
    }
    card_highs.push_back(most_similar_across_cards(answered));
    const json plan = testing::generate_from_schema(*plan_request.schema, run, plan_request.messages.back().content)["plan"];
    std::vector<std::string> concepts;
    for (const auto& pattern : stages::vocabulary::patterns()) {
      std::string text;
      for (const char* key : {"concept", "shopper", "occasion", "format"}) text += plan.at(pattern).at(key).get<std::string>() + "\n";
      concepts.push_back(text);
    }
    double most = 0;
    for (const auto& pair : util::similar_pairs(concepts, 0.0)) most = std::max(most, pair.similarity);
    plan_highs.push_back(most);
  }
  const auto at_or_above = [](const std::vector<double>& values) {
    return std::count_if(values.begin(), values.end(), [](double value) { return value >= stages::k_repeat_similarity; });
  };
  // The figures (before the fake's wider vocabulary, with 40 words and half of them the brand's: cards
  // median 0.52, 90th percentile 0.63, highest 0.78, 32 runs of 200 at or above 0.6).
  for (const auto& [what, highs] : {std::pair{"cards", &card_highs}, std::pair{"plans", &plan_highs}})
    MESSAGE(fmt::format("{}: median {:.2f}, 90th percentile {:.2f}, 99th {:.2f}, highest {:.2f}; runs at or above {}: {} of 200",
                        what, percentile(*highs, 0.5), percentile(*highs, 0.9), percentile(*highs, 0.99),
                        percentile(*highs, 1.0), stages::k_repeat_similarity, at_or_above(*highs)));
  CHECK(at_or_above(card_highs) == 0);
  CHECK(at_or_above(plan_highs) == 0);
}

#include <doctest/doctest.h>

#include <algorithm>

#include <regex>

#include "lib/llm/json_schema.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "stages/card_checks.hpp"
#include "stages/card_distinctness.hpp"
#include "stages/opportunities_stage.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_work.hpp"
#include "stages/vocabulary.hpp"
#include "tests/fake_server/fake_llm_server.hpp"
#include "tests/support/memory_stage_work.hpp"
#include "tests/support/schema_checks.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;
using pipeline::llm::validate_json;
using pipeline::testing::sample_card_answer;
using pipeline::testing::sample_context;
using pipeline::testing::sample_output;
using pipeline::testing::sample_plan;

namespace {

const stages::OpportunitiesStage k_opportunities_stage;

const std::vector<std::string> k_patterns = {"better_for_you", "premiumisation", "convenience", "format_migration",
                                             "occasion_expansion"};

// Stage 5's answers as its one schema holds them: the plan, or one card, and the other member null.
nlohmann::json as_plan(const nlohmann::json& plan) { return {{"plan", plan}, {"card", nullptr}}; }
nlohmann::json as_card(const nlohmann::json& card) { return {{"plan", nullptr}, {"card", card}}; }

// Answers the plan with sample_plan() and each card with its sample card's answer.
util::Expected<nlohmann::json> sample_answer(const stages::NamedRequest& request) {
  if (request.part == "plan") return as_plan(sample_plan());
  std::string pattern = request.part.substr(std::string("card-").size());
  if (pattern.size() > 6 && pattern.substr(pattern.size() - 6) == "-again") pattern.resize(pattern.size() - 6);
  std::replace(pattern.begin(), pattern.end(), '-', '_');
  return as_card(sample_card_answer(pattern));
}

// The five card requests of a produce() run, in pattern order: the first
// asked alone after the plan, then the other four together.
std::vector<stages::NamedRequest> cards_of(const std::vector<std::vector<stages::NamedRequest>>& asks) {
  std::vector<stages::NamedRequest> cards;
  for (size_t i = 1; i < asks.size() && cards.size() < 5; ++i)
    for (const auto& request : asks[i]) cards.push_back(request);
  return cards;
}

// A request's messages as they go on the wire, for the fake server's request_hint.
nlohmann::json wire_messages(const llm::ChatRequest& request) {
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& message : request.messages) messages.push_back({{"role", message.role}, {"content", message.content}});
  return messages;
}

// The requests of a produce() run over the sample context with sample answers.
std::vector<std::vector<stages::NamedRequest>> sample_asks(const stages::StageParams& params = k_opportunities_stage.default_params()) {
  testing::MemoryStageWork work(sample_context(5), params);
  work.set_answer(sample_answer);
  auto output = k_opportunities_stage.produce(work);
  REQUIRE(output);
  return work.asks();
}

}  // namespace

TEST_CASE("opportunities is stage 5 and reads the brand and stages 1 to 4") {
  CHECK(k_opportunities_stage.number() == 5);
  CHECK(k_opportunities_stage.name() == "opportunities");
  CHECK(k_opportunities_stage.reads() == std::vector<int>{1, 2, 3, 4});
  CHECK(k_opportunities_stage.uses_brand());
  CHECK(k_opportunities_stage.default_params().temperature > 0.5);
}

TEST_CASE("opportunities schema has one card property per pattern with the card's rules") {
  const auto& schema = k_opportunities_stage.schema();
  CHECK(testing::schema_subset_problems(schema).empty());
  REQUIRE(schema["properties"].size() == 5);
  for (const auto& pattern : k_patterns) {
    CAPTURE(pattern);
    const auto& card = schema["properties"][pattern]["properties"];
    CHECK(card["pattern"]["const"] == pattern);
    CHECK(card["next_steps"]["required"] == nlohmann::json({"production_trial", "retailer_test", "claim_proof"}));
    for (const auto& [kind, step] : card["next_steps"]["properties"].items())
      CHECK(step["required"] == nlohmann::json({"action", "scale", "timing"}));
    CHECK(card["buyer_questions"]["required"] == nlohmann::json({"versus_competitor", "trade_terms"}));
    CHECK(card["buyer_questions"]["properties"]["versus_competitor"]["required"] == nlohmann::json({"competitor", "question"}));
    CHECK(card["brand_anchor"]["required"] == nlohmann::json({"product_line", "customer_segment", "capability", "competitor"}));
    const auto& feasibility = card["feasibility"]["properties"];
    CHECK(feasibility["storage"]["enum"] == nlohmann::json({"ambient", "chilled", "frozen"}));
    CHECK(feasibility["consumer_education"]["enum"] == nlohmann::json({"none", "light"}));
    CHECK(feasibility["price_tier"]["enum"] == nlohmann::json({"value", "mainstream", "premium"}));
    CHECK(card["title"].contains("maxLength"));
    const auto& description = card["description"]["properties"];
    CHECK(description.contains("what"));
    CHECK(description.contains("who"));
    CHECK(description.contains("how_why_now"));
    const auto& retail = card["retail"]["properties"];
    CHECK(retail["price"]["minimum"] == doctest::Approx(0.01));
    CHECK(retail["units_per_store_per_week"]["minimum"] == doctest::Approx(0.01));
    CHECK(retail["gross_margin_pct"]["minimum"] == 0);
    CHECK(retail["gross_margin_pct"]["maximum"] == 100);
    CHECK(retail["months_to_launch"]["minimum"] == 3);
    CHECK(retail["months_to_launch"]["maximum"] == 24);
    CHECK(retail["basis"]["pattern"] == "^Estimates? based on .+$");
    CHECK(retail["currency"]["pattern"] == "^[A-Z]{3}$");
  }
}

TEST_CASE("the card title pattern allows eight words and refuses nine") {
  const std::regex title(k_opportunities_stage.schema()["properties"]["convenience"]["properties"]["title"]["pattern"].get<std::string>(),
                         std::regex::ECMAScript);
  CHECK(std::regex_search("Morning Rolls from the station locker", title));
  CHECK(std::regex_search("one two three four five six seven eight", title));
  CHECK_FALSE(std::regex_search("one two three four five six seven eight nine", title));
  CHECK_FALSE(std::regex_search("", title));
}

TEST_CASE("the opportunities sample conforms; a missing card, a wrong pattern, a fourth step or a slow launch do not") {
  const auto& schema = k_opportunities_stage.schema();
  CHECK(validate_json(schema, sample_output(5)).empty());
  auto missing = sample_output(5);
  missing.erase("convenience");
  CHECK_FALSE(validate_json(schema, missing).empty());
  auto swapped = sample_output(5);
  swapped["convenience"]["pattern"] = "premiumisation";
  CHECK_FALSE(validate_json(schema, swapped).empty());
  auto four_steps = sample_output(5);
  four_steps["premiumisation"]["next_steps"]["party"] = four_steps["premiumisation"]["next_steps"]["claim_proof"];
  CHECK_FALSE(validate_json(schema, four_steps).empty());
  for (int months : {2, 25}) {
    auto slow = sample_output(5);
    slow["convenience"]["retail"]["months_to_launch"] = months;
    CHECK_FALSE(llm::contract_violations(schema, slow).empty());
  }
  auto unmarked = sample_output(5);
  unmarked["convenience"]["retail"]["basis"] = "Kiosk sales of 30 to 50 bags a day";
  const auto violations = llm::find_violations(schema, unmarked);
  REQUIRE(violations.size() == 1);
  CHECK(violations[0].style);
  auto negative = sample_output(5);
  negative["format_migration"]["retail"]["price"] = -1;
  CHECK_FALSE(validate_json(schema, negative).empty());
}

TEST_CASE("a card's price and sales rate are above zero and its currency is an ISO 4217 code") {
  const auto& schema = k_opportunities_stage.schema();
  auto cheapest = sample_output(5);
  cheapest["convenience"]["retail"]["price"] = 0.01;
  cheapest["convenience"]["retail"]["units_per_store_per_week"] = 0.01;
  cheapest["convenience"]["retail"]["currency"] = "CHF";
  CHECK(validate_json(schema, cheapest).empty());
  for (const char* figure : {"price", "units_per_store_per_week"}) {
    for (double value : {0.0, 0.009}) {
      CAPTURE(figure);
      CAPTURE(value);
      auto low = sample_output(5);
      low["convenience"]["retail"][figure] = value;
      CHECK_FALSE(validate_json(schema, low).empty());
    }
  }
  for (const char* currency : {"eur", "Eur", "EURO", "EU", "E1R", "€", "EUR "}) {
    CAPTURE(currency);
    auto wrong = sample_output(5);
    wrong["premiumisation"]["retail"]["currency"] = currency;
    CHECK_FALSE(validate_json(schema, wrong).empty());
  }
}

TEST_CASE("opportunities uses its plan prompt and a card prompt, both built in") {
  CHECK(k_opportunities_stage.prompt_names() == std::vector<std::string>{"opportunities", "opportunity_card"});
  for (const auto& name : k_opportunities_stage.prompt_names()) {
    CAPTURE(name);
    CHECK(prompts::load_prompt(name));
  }
}

TEST_CASE("pattern ids make valid part names") {
  for (const auto& pattern : k_patterns) {
    CAPTURE(pattern);
    CHECK(pattern.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos);
  }
}

TEST_CASE("opportunities plans first, then writes the five cards in one parallel ask") {
  testing::MemoryStageWork work(sample_context(5), k_opportunities_stage.default_params());
  work.set_answer(sample_answer);
  auto output = k_opportunities_stage.produce(work);
  REQUIRE(output);
  CHECK(*output == sample_output(5));
  CHECK(validate_json(k_opportunities_stage.schema(), *output).empty());

  const auto asks = work.asks();
  REQUIRE(asks.size() == 3);
  REQUIRE(asks[0].size() == 1);
  CHECK(asks[0][0].part == "plan");
  // The plan warms the provider's cache for the first card, which adds the
  // plan to it for the other four.
  REQUIRE(asks[1].size() == 1);
  REQUIRE(asks[2].size() == 4);
  const auto cards = cards_of(asks);
  for (size_t i = 0; i < k_patterns.size(); ++i) CHECK(cards[i].part == "card-" + stages::vocabulary::dashed(k_patterns[i]));
}

TEST_CASE("the plan request carries stages 1 to 4 and the brand but not the document, with the stage's one schema") {
  const auto asks = sample_asks();
  const auto& plan = asks.at(0).at(0).request;
  CHECK(plan.schema_name == "opportunities_step");
  CHECK(plan.model == "run-model");
  CHECK(plan.max_tokens == 3000);
  CHECK(plan.temperature == doctest::Approx(k_opportunities_stage.default_params().temperature));
  CHECK(plan.check);
  REQUIRE(plan.schema);
  const auto& schema = *plan.schema;
  CHECK(testing::schema_subset_problems(schema).empty());
  // A plan member and a card member, each a reference or null.
  CHECK(schema["required"] == nlohmann::json({"plan", "card"}));
  CHECK(schema["properties"]["plan"]["anyOf"] == nlohmann::json::parse(R"([{"$ref": "#/$defs/plan"}, {"type": "null"}])"));
  CHECK(schema["properties"]["card"]["anyOf"] == nlohmann::json::parse(R"([{"$ref": "#/$defs/card"}, {"type": "null"}])"));
  // The five concepts are one definition, so the brand's names are said once.
  REQUIRE(schema["$defs"]["plan"]["properties"].size() == 5);
  // Once: the concepts and the card share one anchor definition (the plan's
  // ten anchor fields said them ten times before, issue 20).
  const std::string dumped = schema.dump();
  int named = 0;
  for (auto at = dumped.find("Acme Morning Rolls"); at != std::string::npos; at = dumped.find("Acme Morning Rolls", at + 1)) ++named;
  CHECK(named == 1);
  for (const auto& pattern : k_patterns) {
    CAPTURE(pattern);
    CHECK(schema["$defs"]["plan"]["properties"][pattern] == nlohmann::json({{"$ref", "#/$defs/concept"}}));
    const auto& concept_schema = schema["$defs"]["concept"];
    CHECK(concept_schema["required"] == nlohmann::json({"title", "mechanism_id", "concept", "shopper", "occasion", "format",
                                                        "price_tier", "brand_anchor"}));
    // The anchors suggest the profile's names.
    CHECK(concept_schema["properties"]["brand_anchor"] == nlohmann::json({{"$ref", "#/$defs/brand_anchor"}}));
    // The anchor's line and the line a launch may take sales from are one definition.
    const nlohmann::json line_ref = {{"$ref", "#/$defs/product_line"}};
    CHECK(schema["$defs"]["brand_anchor"]["properties"]["product_line"] == line_ref);
    CHECK(schema["$defs"]["card"]["properties"]["launch"]["properties"]["cannibalises"]["properties"]["product_line"] == line_ref);
    const auto& line = schema["$defs"]["product_line"];
    REQUIRE(line.contains("anyOf"));
    CHECK(line["anyOf"][0]["enum"].size() == 3);
    CHECK(concept_schema["properties"]["title"]["pattern"] == k_opportunities_stage.schema()["properties"][pattern]["properties"]["title"]["pattern"]);
  }
  CHECK(validate_json(schema, as_plan(sample_plan())).empty());
  // The plan request asks for the plan: a card, or no plan, is sent back.
  CHECK(plan.check(as_plan(sample_plan())).empty());
  CHECK(plan.check(as_card(sample_card_answer("convenience"))).find("$.plan: this request asks for the plan") != std::string::npos);
  auto both = as_plan(sample_plan());
  both["card"] = sample_card_answer("convenience");
  CHECK(validate_json(schema, both).empty());
  CHECK(plan.check(both).find("$.card: this request asks for the plan, so `card` is null") != std::string::npos);
  REQUIRE(plan.messages.size() == 3);
  CHECK(plan.messages.at(2).content.find("Fill `plan` and set `card` to null") != std::string::npos);

  const std::string& user = plan.messages.at(1).content;
  CHECK(user.find("<brand_profile>\n" + testing::sample_brand_text()) != std::string::npos);
  CHECK(user.find(testing::sample_document_text()) == std::string::npos);
  CHECK(user.find("<document") == std::string::npos);
  for (int number = 1; number <= 4; ++number) {
    CHECK(user.find("<stage_output stage=\"" + std::to_string(number) + "\"") != std::string::npos);
  }
  // The brand comes after the general analyses.
  CHECK(user.find("<brand_profile>") > user.find("<stage_output stage=\"3\""));
  CHECK(user.find("Morning Rolls lockers in Deutsche Bahn stations") != std::string::npos);
  // The feasibility rules of a brand without a cold chain or a direct channel
  // are stated with the brand; the system prompt holds nothing of the run.
  CHECK(user.find("no cold chain") > user.find("<brand_profile>"));
  CHECK(user.find("no subscription") != std::string::npos);
  CHECK(plan.messages.at(0).content.find("no cold chain") == std::string::npos);
  // The system prompt is the prompt file's, with nothing of the run in it.
  CHECK(plan.messages.at(0).content == prompts::load_prompt("opportunities")->system);
}

TEST_CASE("a small max_tokens caps the plan and each card alike") {
  auto params = k_opportunities_stage.default_params();
  params.max_tokens = 900;
  const auto asks = sample_asks(params);
  CHECK(asks.at(0).at(0).request.max_tokens == 900);
  for (const auto& card : cards_of(asks)) CHECK(card.request.max_tokens == 900);
}

TEST_CASE("the plan and the five card requests are identical up to their last user block, with one schema byte for byte") {
  const auto asks = sample_asks();
  const auto plan = sample_plan();
  const auto cards = cards_of(asks);
  REQUIRE(cards.size() == 5);
  const auto& first = asks.at(0).at(0).request;
  REQUIRE(first.schema);
  const std::string schema_text = first.schema->dump();
  for (size_t i = 0; i < k_patterns.size(); ++i) {
    const auto& pattern = k_patterns[i];
    CAPTURE(pattern);
    const auto& request = cards[i].request;
    CHECK(request.schema_name == first.schema_name);
    REQUIRE(request.schema);
    CHECK(request.schema->dump() == schema_text);
    // The plan's conversation (system, the shared user part, the plan's
    // request part, the plan as answered), then the card's own request part.
    REQUIRE(request.messages.size() == 5);
    for (size_t m = 0; m < 3; ++m) {
      CHECK(request.messages[m].role == first.messages[m].role);
      CHECK(request.messages[m].content == first.messages[m].content);
      CHECK(request.messages[m].cache_break == first.messages[m].cache_break);
    }
    CHECK_FALSE(request.messages[0].cache_break);
    CHECK(request.messages[1].cache_break);
    CHECK_FALSE(request.messages[2].cache_break);
    CHECK(request.messages[3].role == "assistant");
    CHECK(nlohmann::json::parse(request.messages[3].content) == as_plan(plan));
    CHECK(request.messages[3].cache_break);
    CHECK_FALSE(request.messages[4].cache_break);
    CHECK(request.messages[3].content == cards[0].request.messages[3].content);
    CHECK(request.messages[0].content == prompts::load_prompt("opportunities")->system);
    // The card's schema is held to the brand; what the plan fixed is not asked.
    const auto& schema = (*request.schema)["$defs"]["card"];
    CHECK_FALSE(schema["properties"].contains("pattern"));
    CHECK_FALSE(schema["properties"].contains("mechanism_id"));
    CHECK_FALSE(schema["properties"].contains("brand_anchor"));
    CHECK(schema["properties"]["feasibility"]["properties"]["storage"]["enum"] == nlohmann::json({"ambient"}));
    CHECK(schema["properties"]["feasibility"]["properties"]["channel"]["enum"] ==
          nlohmann::json({"store_retail", "online_retail", "foodservice"}));
    CHECK(validate_json(*request.schema, as_card(sample_card_answer(pattern))).empty());
    CHECK(request.style_check(as_card(sample_card_answer(pattern))).empty());
    CHECK(request.check(as_card(sample_card_answer(pattern))).empty());
    CHECK(request.check(as_plan(plan)).find("$.card: this request asks for the card") != std::string::npos);
    CHECK(request.max_tokens == k_opportunities_stage.default_params().max_tokens);

    // The request part names the card, its planned mechanism, format and tier.
    const std::string& own = request.messages[4].content;
    CHECK(own.find("<plan>") == std::string::npos);
    CHECK(own.find("Fill `card` and set `plan` to null") != std::string::npos);
    CHECK(own.find("pattern " + pattern) != std::string::npos);
    CHECK(own.find("mechanism " + plan[pattern]["mechanism_id"].get<std::string>()) != std::string::npos);
    CHECK(own.find("sold as " + plan[pattern]["format"].get<std::string>()) != std::string::npos);
    CHECK(own.find("the " + plan[pattern]["price_tier"].get<std::string>() + " price tier") != std::string::npos);
    for (const auto& other : k_patterns)
      if (other != pattern) CHECK(own.find(other) == std::string::npos);

    // The figures are read against stage 4 and the comparable, as the card will hold them.
    auto silent = sample_card_answer(pattern);
    silent["retail"]["units_per_store_per_week"] = 2;
    silent["retail"]["below_threshold_reason"] = nullptr;
    CHECK(request.style_check(as_card(silent)).find("below_threshold_reason") != std::string::npos);
    auto empty_handed = sample_card_answer(pattern);
    empty_handed["launch"]["new_equipment"] = {{"needed", true}, {"what", nullptr}};
    CHECK(request.style_check(as_card(empty_handed)).find("launch.new_equipment") != std::string::npos);
  }
  // The shared part: the analyses, the brand with its rules, then stage 4 once.
  const std::string& user = first.messages[1].content;
  const auto mechanisms = user.find("<stage_output stage=\"1\"");
  const auto brand = user.find("<brand_profile>\n" + testing::sample_brand_text());
  const auto rules = user.find("no cold chain");
  const auto stage4 = user.find("<stage_output stage=\"4\"");
  REQUIRE(mechanisms != std::string::npos);
  CHECK(mechanisms < brand);
  CHECK(brand < rules);
  CHECK(rules < stage4);
  CHECK(user.find("<plan>") == std::string::npos);
  for (const auto& pattern : k_patterns) {
    // Stage 4's pattern fit is sent once, not again with each concept.
    const std::string application = sample_output(4)["pattern_fit"][pattern]["application"];
    const auto at = user.find(application);
    REQUIRE(at != std::string::npos);
    CHECK(user.find(application, at + 1) == std::string::npos);
  }
  CHECK(user.find("<document") == std::string::npos);
}

TEST_CASE("the plan check names patterns whose titles clash, ignoring case and spaces") {
  const auto asks = sample_asks();
  const auto& check = asks.at(0).at(0).request.check;
  REQUIRE(check);
  CHECK(check(as_plan(sample_plan())).empty());
  auto clash = sample_plan();
  clash["occasion_expansion"]["title"] = "  morning rolls FROM the\tstation  locker ";
  const std::string problem = check(as_plan(clash));
  CHECK(problem.find("convenience") != std::string::npos);
  CHECK(problem.find("occasion_expansion") != std::string::npos);
  CHECK(problem.find("premiumisation") == std::string::npos);
}

TEST_CASE("the card check refuses a title planned for another pattern") {
  const auto asks = sample_asks();
  const auto plan = sample_plan();
  const auto premium = cards_of(asks).at(1);
  REQUIRE(premium.part == "card-premiumisation");
  REQUIRE(premium.request.check);
  auto card = sample_card_answer("premiumisation");
  CHECK(premium.request.check(as_card(card)).empty());
  card["title"] = "A different heritage loaf";
  CHECK(premium.request.check(as_card(card)).empty());
  card["title"] = "ACME protein BARS breakfast  pack";
  const std::string problem = premium.request.check(as_card(card));
  CHECK(problem.find("format_migration") != std::string::npos);
  CHECK(problem.find(plan["premiumisation"]["title"].get<std::string>()) != std::string::npos);
}

TEST_CASE("a plan that fails stops the stage before any card; a card that fails fails the stage") {
  {
    testing::MemoryStageWork work(sample_context(5), k_opportunities_stage.default_params());
    work.set_answer([](const stages::NamedRequest&) -> util::Expected<nlohmann::json> {
      return util::fail(util::ErrorKind::provider, "no credit");
    });
    auto output = k_opportunities_stage.produce(work);
    REQUIRE_FALSE(output);
    CHECK(output.error().kind == util::ErrorKind::provider);
    CHECK(work.asks().size() == 1);
  }
  testing::MemoryStageWork work(sample_context(5), k_opportunities_stage.default_params());
  work.set_answer([](const stages::NamedRequest& request) -> util::Expected<nlohmann::json> {
    if (request.part == "card-convenience") return util::fail(util::ErrorKind::deadline, "out of time");
    return sample_answer(request);
  });
  auto output = k_opportunities_stage.produce(work);
  REQUIRE_FALSE(output);
  CHECK(output.error().kind == util::ErrorKind::deadline);
  CHECK(work.asks().size() == 3);
}

TEST_CASE("the fake model's answers pass the plan and card checks and make a valid output") {
  testing::MemoryStageWork work(sample_context(5), k_opportunities_stage.default_params());
  auto output = k_opportunities_stage.produce(work);
  REQUIRE(output);
  CHECK(validate_json(k_opportunities_stage.schema(), *output).empty());

  // The fake server seeds its answers from the request; its plans must have
  // five different titles, formats and shopper-occasion pairs, or the plan
  // check would re-ask it for ever; and they must pass the style checks, or
  // every fake run would pay for re-asks.
  const auto plan_request = work.asks().at(0).at(0).request;
  const auto& plan_schema = *plan_request.schema;
  const auto& check = plan_request.check;
  for (std::uint64_t seed = 0; seed < 500; ++seed) {
    CAPTURE(seed);
    const auto plan = testing::generate_from_schema(plan_schema, seed, plan_request.messages.back().content);
    CHECK(plan["card"].is_null());
    REQUIRE(validate_json(plan_schema, plan).empty());
    CHECK(check(plan).empty());
    CHECK(plan_request.style_check(plan).empty());
  }
  const auto all_asks = work.asks();
  const auto cards = cards_of(all_asks);
  REQUIRE(cards.size() == 5);
  for (const auto& card : cards) {
    CAPTURE(card.part);
    for (std::uint64_t seed = 0; seed < 100; ++seed) {
      const auto answer = testing::generate_from_schema(*card.request.schema, seed,
                                                        testing::request_hint(wire_messages(card.request)));
      CHECK(answer["plan"].is_null());
      CHECK(card.request.check(answer).empty());
      const std::string found_problems = card.request.style_check(answer);
      CHECK_MESSAGE(found_problems.empty(), found_problems);
    }
  }
  CHECK(stages::card_repeats(*output).empty());
}

TEST_CASE("opportunities renders five card files, opportunities.json and the stage files") {
  const auto files = k_opportunities_stage.render(sample_output(5));
  CHECK(files.size() == 8);
  CHECK(nlohmann::json::parse(testing::rendered_file(files, "stages/05-opportunities.json")) == sample_output(5));

  const auto opportunities = nlohmann::json::parse(testing::rendered_file(files, "opportunities.json"));
  REQUIRE(opportunities["opportunities"].size() == 5);
  for (size_t i = 0; i < k_patterns.size(); ++i) {
    CHECK(opportunities["opportunities"][i]["pattern"] == k_patterns[i]);
    CHECK(opportunities["opportunities"][i]["title"] == sample_output(5)[k_patterns[i]]["title"]);
  }

  const std::string convenience = testing::rendered_file(files, "cards/3-convenience.md");
  for (const char* expected : {"# Morning Rolls from the station locker\n", "*Convenience* · builds on mechanism M1",
                               "**Price point:** EUR 3.49 for 4 x 60 g", "- Extends: Acme Morning Rolls",
                               "- Takes share from: Station bakeries (Ditsch)", "Storage: Ambient; channel: Foodservice",
                               "1. **Production trial**: Pack locker-sized bags", "2. **Retailer test**: Agree a locker pilot",
                               "3. **Claim proof**: Measure pick-up times", "A red locker wall by the platform stairs",
                               "- Against Ditsch: Why would commuters order ahead", "## Retail figures (estimates)",
                               "| 3.49 EUR | 120 | 32 % | 6 |", "Estimate based on station kiosk sales"}) {
    CHECK_MESSAGE(convenience.find(expected) != std::string::npos, expected);
  }
  CHECK(testing::rendered_file(files, "cards/1-better-for-you.md").find("# Acme Clean Rolls baked to order") != std::string::npos);
  CHECK(testing::rendered_file(files, "cards/2-premiumisation.md").find("| 4.99 EUR | 8 | 46 % | 12 |") != std::string::npos);
  CHECK(testing::rendered_file(files, "cards/4-format-migration.md").find("*Format migration*") != std::string::npos);
  CHECK(testing::rendered_file(files, "cards/5-occasion-expansion.md").find("Acme office breakfast, every Monday") != std::string::npos);

  const std::string markdown = testing::rendered_file(files, "stages/05-opportunities.md");
  CHECK(markdown.rfind("# 5. Opportunity generation\n", 0) == 0);
  CHECK(markdown.find("## Card 3: Morning Rolls from the station locker") != std::string::npos);
  CHECK(markdown.find("| 1 | Better-for-you | Acme Clean Rolls baked to order | Acme Morning Rolls | 3.99 EUR | 35 | 38 % | 9 |") !=
        std::string::npos);
}

TEST_CASE("a card that repeats an earlier card's next step is asked again alone, with what it repeats") {
  testing::MemoryStageWork work(sample_context(5), k_opportunities_stage.default_params());
  work.set_answer([](const stages::NamedRequest& request) -> util::Expected<nlohmann::json> {
    if (request.part == "card-format-migration") {
      auto card = sample_card_answer("format_migration");
      card["next_steps"]["retailer_test"] = sample_output(5)["convenience"]["next_steps"]["retailer_test"];
      return as_card(card);
    }
    return sample_answer(request);
  });
  auto output = k_opportunities_stage.produce(work);
  REQUIRE(output);
  CHECK(*output == sample_output(5));
  const auto asks = work.asks();
  REQUIRE(asks.size() == 4);
  REQUIRE(asks[3].size() == 1);
  const auto& again = asks[3][0];
  CHECK(again.part == "card-format-migration-again");
  // The first request's conversation, then the card and what it repeats.
  const auto& messages = again.request.messages;
  REQUIRE(messages.size() == 7);
  CHECK(messages[4].content == cards_of(asks)[3].request.messages[4].content);
  CHECK(messages[5].role == "assistant");
  CHECK(nlohmann::json::parse(messages[5].content)["plan"].is_null());
  CHECK(messages[6].content.find("is also a next step of the convenience card") != std::string::npos);
  // A repeat that stays after the re-asks is a style warning, not a failure.
  REQUIRE(again.request.style_check);
  CHECK(again.request.style_check(as_card(sample_card_answer("format_migration"))).empty());
  auto still = sample_card_answer("format_migration");
  still["buyer_questions"]["trade_terms"] = sample_output(5)["better_for_you"]["buyer_questions"]["trade_terms"];
  CHECK(again.request.style_check(as_card(still)).find("better_for_you") != std::string::npos);
}

TEST_CASE("a card priced against its comparable contrary to its tier is kept and flagged, not asked again") {
  testing::MemoryStageWork work(sample_context(5), k_opportunities_stage.default_params());
  work.set_answer([](const stages::NamedRequest& request) -> util::Expected<nlohmann::json> {
    if (request.part != "card-premiumisation") return sample_answer(request);
    auto card = sample_card_answer("premiumisation");
    card["retail"]["price"] = 29.99;
    return as_card(card);
  });
  auto output = k_opportunities_stage.produce(work);
  REQUIRE(output);
  CHECK(work.asks().size() == 3);
  const auto& comparable = (*output)["premiumisation"]["comparable"];
  CHECK(comparable["price_ratio"] == doctest::Approx(7.52));
  REQUIRE(comparable["flags"].size() == 1);
  CHECK(comparable["flags"][0].get<std::string>().find("priced at 7.5 times its comparable") == 0);
  const auto files = k_opportunities_stage.render(*output);
  CHECK(testing::rendered_file(files, "cards/2-premiumisation.md").find("**Check the price:** priced at 7.5 times") !=
        std::string::npos);
}

TEST_CASE("cards that differ from each other are not asked again") {
  const auto asks = sample_asks();
  CHECK(asks.size() == 3);
}

TEST_CASE("card style checks flag infeasible wording and vague words; plan checks flag anchors and wording") {
  const auto asks = sample_asks();
  const auto request = cards_of(asks).at(0).request;
  REQUIRE(request.style_check);
  auto chilled = sample_card_answer("better_for_you");
  chilled["shelf"] = "In the chilled bakery bay.";
  CHECK(request.style_check(as_card(chilled)).find("cold chain") != std::string::npos);
  auto hype = sample_card_answer("better_for_you");
  hype["description"]["what"] = "An innovative roll.";
  CHECK(request.style_check(as_card(hype)).find("\"innovative\"") != std::string::npos);
  // The planned concepts' anchors and wording are held to the profile.
  const auto& plan = asks.at(0).at(0).request;
  auto stray = sample_plan();
  stray["convenience"]["brand_anchor"]["product_line"] = "Frozen pizza";
  CHECK(plan.style_check(as_plan(stray)).find("convenience") != std::string::npos);
  auto frozen = sample_plan();
  frozen["occasion_expansion"]["format"] = "Frozen 6-pack for the office freezer";
  CHECK(plan.style_check(as_plan(frozen)).find("the occasion_expansion concept speaks of chilled or frozen goods") !=
        std::string::npos);
  auto direct = sample_plan();
  direct["convenience"]["concept"] = "A weekly subscription box of rolls";
  CHECK(plan.style_check(as_plan(direct)).find("the convenience concept speaks of a subscription") != std::string::npos);
}

TEST_CASE("a card whose next step paraphrases another card's is asked again alone; the five are checked again after") {
  // The convenience card's retailer test, reworded onto the format migration card.
  const std::string theirs = sample_output(5)["convenience"]["next_steps"]["retailer_test"]["action"];
  const auto paraphrasing = [&](const std::string& pattern) {
    auto card = sample_card_answer(pattern);
    card["next_steps"]["retailer_test"]["action"] = "Over the same weeks and stores: " + theirs;
    return as_card(card);
  };
  testing::MemoryStageWork work(sample_context(5), k_opportunities_stage.default_params());
  work.set_answer([&](const stages::NamedRequest& request) -> util::Expected<nlohmann::json> {
    if (request.part == "card-format-migration") return paraphrasing("format_migration");
    return sample_answer(request);
  });
  auto output = k_opportunities_stage.produce(work);
  REQUIRE(output);
  CHECK(*output == sample_output(5));
  const auto asks = work.asks();
  // The plan, the first card, the other four, the one card again; checked again, the five repeat
  // nothing: no further request.
  REQUIRE(asks.size() == 4);
  REQUIRE(asks[3].size() == 1);
  CHECK(asks[3][0].part == "card-format-migration-again");
  CHECK(asks[3][0].request.messages.back().content.find("repeats in other words the convenience card's") !=
        std::string::npos);
  REQUIRE(asks[3][0].request.style_check);
  CHECK(asks[3][0].request.style_check(paraphrasing("format_migration")).find("repeats in other words") !=
        std::string::npos);

  // An answer that still paraphrases it is asked once more, against the cards as they are; what that
  // answer still repeats is its request's style problem (a warning once the re-asks are spent), and
  // there is no third round.
  testing::MemoryStageWork stubborn(sample_context(5), k_opportunities_stage.default_params());
  stubborn.set_answer([&](const stages::NamedRequest& request) -> util::Expected<nlohmann::json> {
    if (request.part.rfind("card-format-migration", 0) == 0) return paraphrasing("format_migration");
    return sample_answer(request);
  });
  auto kept = k_opportunities_stage.produce(stubborn);
  REQUIRE(kept);
  const auto rounds = stubborn.asks();
  REQUIRE(rounds.size() == 5);
  REQUIRE(rounds[4].size() == 1);
  CHECK(rounds[4][0].part == "card-format-migration-again-2");
  const auto& messages = rounds[4][0].request.messages;
  CHECK(nlohmann::json::parse(messages.at(messages.size() - 2).content)["card"] == paraphrasing("format_migration")["card"]);
  CHECK(rounds[4][0].request.style_check(paraphrasing("format_migration")).find("the convenience card's") !=
        std::string::npos);
  CHECK((*kept)["format_migration"]["next_steps"]["retailer_test"]["action"] ==
        paraphrasing("format_migration")["card"]["next_steps"]["retailer_test"]["action"]);
}

TEST_CASE("plan concepts that say the same in other words are a style problem of the plan, not its contract") {
  const auto asks = sample_asks();
  const auto& plan_request = asks.at(0).at(0).request;
  REQUIRE(plan_request.style_check);
  CHECK(plan_request.style_check(as_plan(sample_plan())).empty());
  auto reworded = sample_plan();
  for (const char* key : {"concept", "shopper", "occasion"})
    reworded["occasion_expansion"][key] = reworded["convenience"][key].get<std::string>() + ", reworded";
  const std::string problems = plan_request.style_check(as_plan(reworded));
  CHECK(problems.find("the convenience and occasion_expansion concepts say much the same in other words") !=
        std::string::npos);
  CHECK(plan_request.check(as_plan(reworded)).empty());
}

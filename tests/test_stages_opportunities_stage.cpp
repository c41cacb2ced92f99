#include <doctest/doctest.h>

#include <regex>

#include "lib/llm/json_schema.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "stages/opportunities_stage.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_work.hpp"
#include "tests/fake_server/fake_llm_server.hpp"
#include "tests/support/memory_stage_work.hpp"
#include "tests/support/schema_checks.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;
using pipeline::llm::validate_json;
using pipeline::testing::sample_context;
using pipeline::testing::sample_output;

namespace {

const stages::OpportunitiesStage k_stage;

const std::vector<std::string> k_patterns = {"better_for_you", "premiumisation", "convenience", "format_migration",
                                             "occasion_expansion"};

// A plan made from the sample cards: their titles and mechanisms, and a concept per pattern.
nlohmann::json sample_plan() {
  nlohmann::json plan = nlohmann::json::object();
  for (const auto& pattern : k_patterns) {
    const auto& card = sample_output(5)[pattern];
    plan[pattern] = {{"title", card["title"]}, {"mechanism_id", card["mechanism_id"]},
                     {"concept", "The " + pattern + " concept: " + card["description"]["what"].get<std::string>()}};
  }
  return plan;
}

// Answers the plan with sample_plan() and each card with its sample card.
util::Expected<nlohmann::json> sample_answer(const stages::NamedRequest& request) {
  if (request.part == "plan") return sample_plan();
  return sample_output(5)[request.part.substr(std::string("card-").size())];
}

// The requests of a produce() run over the sample context with sample answers.
std::vector<std::vector<stages::NamedRequest>> sample_asks(const stages::StageParams& params = k_stage.default_params()) {
  testing::MemoryStageWork work(sample_context(5), params);
  work.set_answer(sample_answer);
  auto output = k_stage.produce(work);
  REQUIRE(output);
  return work.asks();
}

}  // namespace

TEST_CASE("opportunities is stage 5 and reads the brand and stages 1 to 4") {
  CHECK(k_stage.number() == 5);
  CHECK(k_stage.name() == "opportunities");
  CHECK(k_stage.reads() == std::vector<int>{1, 2, 3, 4});
  CHECK(k_stage.uses_brand());
  CHECK(k_stage.default_params().temperature > 0.5);
}

TEST_CASE("opportunities schema has one card property per pattern with the card's rules") {
  const auto& schema = k_stage.schema();
  CHECK(testing::schema_subset_problems(schema).empty());
  REQUIRE(schema["properties"].size() == 5);
  for (const auto& pattern : k_patterns) {
    CAPTURE(pattern);
    const auto& card = schema["properties"][pattern]["properties"];
    CHECK(card["pattern"]["const"] == pattern);
    CHECK(card["next_steps"]["minItems"] == 3);
    CHECK(card["next_steps"]["maxItems"] == 3);
    CHECK(card["buyer_questions"]["minItems"] == 2);
    CHECK(card["buyer_questions"]["maxItems"] == 2);
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
    CHECK(retail["months_to_launch"]["minimum"] == 0);
    CHECK(retail["currency"]["pattern"] == "^[A-Z]{3}$");
  }
}

TEST_CASE("the card title pattern allows eight words and refuses nine") {
  const std::regex title(k_stage.schema()["properties"]["convenience"]["properties"]["title"]["pattern"].get<std::string>(),
                         std::regex::ECMAScript);
  CHECK(std::regex_search("Morning Rolls from the station locker", title));
  CHECK(std::regex_search("one two three four five six seven eight", title));
  CHECK_FALSE(std::regex_search("one two three four five six seven eight nine", title));
  CHECK_FALSE(std::regex_search("", title));
}

TEST_CASE("the opportunities sample conforms; a missing card, a wrong pattern or a fourth step do not") {
  const auto& schema = k_stage.schema();
  CHECK(validate_json(schema, sample_output(5)).empty());
  auto missing = sample_output(5);
  missing.erase("convenience");
  CHECK_FALSE(validate_json(schema, missing).empty());
  auto swapped = sample_output(5);
  swapped["convenience"]["pattern"] = "premiumisation";
  CHECK_FALSE(validate_json(schema, swapped).empty());
  auto four_steps = sample_output(5);
  four_steps["premiumisation"]["next_steps"].push_back("Celebrate");
  CHECK_FALSE(validate_json(schema, four_steps).empty());
  auto negative = sample_output(5);
  negative["format_migration"]["retail"]["price"] = -1;
  CHECK_FALSE(validate_json(schema, negative).empty());
}

TEST_CASE("a card's price and sales rate are above zero and its currency is an ISO 4217 code") {
  const auto& schema = k_stage.schema();
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
  CHECK(k_stage.prompt_names() == std::vector<std::string>{"opportunities", "opportunity_card"});
  for (const auto& name : k_stage.prompt_names()) {
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
  testing::MemoryStageWork work(sample_context(5), k_stage.default_params());
  work.set_answer(sample_answer);
  auto output = k_stage.produce(work);
  REQUIRE(output);
  CHECK(*output == sample_output(5));
  CHECK(validate_json(k_stage.schema(), *output).empty());

  const auto asks = work.asks();
  REQUIRE(asks.size() == 2);
  REQUIRE(asks[0].size() == 1);
  CHECK(asks[0][0].part == "plan");
  REQUIRE(asks[1].size() == 5);
  for (size_t i = 0; i < k_patterns.size(); ++i) CHECK(asks[1][i].part == "card-" + k_patterns[i]);
}

TEST_CASE("the plan request carries the brand, the document and stages 1 to 4, with a plan schema") {
  const auto asks = sample_asks();
  const auto& plan = asks.at(0).at(0).request;
  CHECK(plan.schema_name == "opportunities_plan");
  CHECK(plan.model == "run-model");
  CHECK(plan.max_tokens == 1500);
  CHECK(plan.temperature == doctest::Approx(k_stage.default_params().temperature));
  CHECK(plan.check);
  REQUIRE(plan.schema);
  const auto& schema = *plan.schema;
  CHECK(testing::schema_subset_problems(schema).empty());
  REQUIRE(schema["properties"].size() == 5);
  for (const auto& pattern : k_patterns) {
    CAPTURE(pattern);
    const auto& concept_schema = schema["properties"][pattern];
    CHECK(concept_schema["required"] == nlohmann::json({"title", "mechanism_id", "concept"}));
    CHECK(concept_schema["properties"]["title"]["pattern"] == k_stage.schema()["properties"][pattern]["properties"]["title"]["pattern"]);
  }
  CHECK(validate_json(schema, sample_plan()).empty());

  const std::string& user = plan.messages.at(1).content;
  CHECK(user.find("<brand_profile>\n" + testing::sample_brand_text()) != std::string::npos);
  CHECK(user.find(testing::sample_document_text()) != std::string::npos);
  for (int number = 1; number <= 4; ++number) {
    CHECK(user.find("<stage_output stage=\"" + std::to_string(number) + "\"") != std::string::npos);
  }
  CHECK(user.find("Morning Rolls lockers in Deutsche Bahn stations") != std::string::npos);
}

TEST_CASE("a small max_tokens caps the plan and each card alike") {
  auto params = k_stage.default_params();
  params.max_tokens = 900;
  const auto asks = sample_asks(params);
  CHECK(asks.at(0).at(0).request.max_tokens == 900);
  for (const auto& card : asks.at(1)) CHECK(card.request.max_tokens == 900);
}

TEST_CASE("each card request writes its own concept, told the other four, against its card's schema") {
  const auto asks = sample_asks();
  const auto plan = sample_plan();
  REQUIRE(asks.at(1).size() == 5);
  std::string shared_system;
  for (size_t i = 0; i < k_patterns.size(); ++i) {
    const auto& pattern = k_patterns[i];
    CAPTURE(pattern);
    const auto& request = asks[1][i].request;
    CHECK(request.schema_name == "opportunity_card");
    REQUIRE(request.schema);
    CHECK(*request.schema == k_stage.schema()["properties"][pattern]);
    CHECK(request.max_tokens == k_stage.default_params().max_tokens);
    CHECK(request.check);
    if (i == 0) shared_system = request.messages.at(0).content;
    CHECK(request.messages.at(0).content == shared_system);

    const std::string& user = request.messages.at(1).content;
    CHECK(user.find("<brand_profile>\n" + testing::sample_brand_text()) != std::string::npos);
    CHECK(user.find("<stage_output stage=\"4\"") != std::string::npos);
    const auto own = user.find("<concept pattern=\"" + pattern + "\">");
    const auto others = user.find("<other_concepts>");
    const auto others_end = user.find("</other_concepts>");
    REQUIRE(own != std::string::npos);
    REQUIRE(others != std::string::npos);
    REQUIRE(others_end != std::string::npos);
    const std::string own_block = user.substr(own, user.find("</concept>", own) - own);
    const std::string others_block = user.substr(others, others_end - others);
    CHECK(own_block.find(plan[pattern]["title"].get<std::string>()) != std::string::npos);
    CHECK(own_block.find(plan[pattern]["concept"].get<std::string>()) != std::string::npos);
    CHECK(others_block.find(plan[pattern]["title"].get<std::string>()) == std::string::npos);
    for (const auto& other : k_patterns) {
      if (other == pattern) continue;
      CHECK(others_block.find(plan[other]["title"].get<std::string>()) != std::string::npos);
      CHECK(others_block.find(plan[other]["concept"].get<std::string>()) != std::string::npos);
    }
    CHECK(user.find("(pattern " + pattern + ")") != std::string::npos);
  }
}

TEST_CASE("the plan check names patterns whose titles clash, ignoring case and spaces") {
  const auto asks = sample_asks();
  const auto& check = asks.at(0).at(0).request.check;
  REQUIRE(check);
  CHECK(check(sample_plan()).empty());
  auto clash = sample_plan();
  clash["occasion_expansion"]["title"] = "  morning rolls FROM the\tstation  locker ";
  const std::string problem = check(clash);
  CHECK(problem.find("convenience") != std::string::npos);
  CHECK(problem.find("occasion_expansion") != std::string::npos);
  CHECK(problem.find("premiumisation") == std::string::npos);
}

TEST_CASE("the card check refuses a title planned for another pattern") {
  const auto asks = sample_asks();
  const auto plan = sample_plan();
  const auto& premium = asks.at(1).at(1);
  REQUIRE(premium.part == "card-premiumisation");
  REQUIRE(premium.request.check);
  auto card = sample_output(5)["premiumisation"];
  CHECK(premium.request.check(card).empty());
  card["title"] = "A different heritage loaf";
  CHECK(premium.request.check(card).empty());
  card["title"] = "ROLL KITS baked  at home";
  const std::string problem = premium.request.check(card);
  CHECK(problem.find("format_migration") != std::string::npos);
  CHECK(problem.find(plan["premiumisation"]["title"].get<std::string>()) != std::string::npos);
}

TEST_CASE("a plan that fails stops the stage before any card; a card that fails fails the stage") {
  {
    testing::MemoryStageWork work(sample_context(5), k_stage.default_params());
    work.set_answer([](const stages::NamedRequest&) -> util::Expected<nlohmann::json> {
      return util::fail(util::ErrorKind::provider, "no credit");
    });
    auto output = k_stage.produce(work);
    REQUIRE_FALSE(output);
    CHECK(output.error().kind == util::ErrorKind::provider);
    CHECK(work.asks().size() == 1);
  }
  testing::MemoryStageWork work(sample_context(5), k_stage.default_params());
  work.set_answer([](const stages::NamedRequest& request) -> util::Expected<nlohmann::json> {
    if (request.part == "card-convenience") return util::fail(util::ErrorKind::deadline, "out of time");
    return sample_answer(request);
  });
  auto output = k_stage.produce(work);
  REQUIRE_FALSE(output);
  CHECK(output.error().kind == util::ErrorKind::deadline);
  CHECK(work.asks().size() == 2);
}

TEST_CASE("the fake model's answers pass the plan and card checks and make a valid output") {
  testing::MemoryStageWork work(sample_context(5), k_stage.default_params());
  auto output = k_stage.produce(work);
  REQUIRE(output);
  CHECK(validate_json(k_stage.schema(), *output).empty());

  // The fake server seeds its answers from the request; its plans must have
  // five different titles, or the plan check would re-ask it for ever.
  const auto plan_request = work.asks().at(0).at(0).request;
  const auto& plan_schema = *plan_request.schema;
  const auto& check = plan_request.check;
  for (std::uint64_t seed = 0; seed < 500; ++seed) {
    CAPTURE(seed);
    const auto plan = testing::generate_from_schema(plan_schema, seed);
    REQUIRE(validate_json(plan_schema, plan).empty());
    CHECK(check(plan).empty());
  }
}

TEST_CASE("opportunities renders five card files, opportunities.json and the stage files") {
  const auto files = k_stage.render(sample_output(5));
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
                               "**Price point:** EUR 3.49 for 4 x 60 g", "1. Agree a 10-locker pilot with Deutsche Bahn",
                               "3. Measure pick-up times", "A red locker wall by the platform stairs",
                               "- Why should a retailer stock it if lockers bypass the store?",
                               "| 3.49 EUR | 120 | 32 % | 6 |"}) {
    CHECK_MESSAGE(convenience.find(expected) != std::string::npos, expected);
  }
  CHECK(testing::rendered_file(files, "cards/1-better-for-you.md").find("# Acme Clean Rolls baked to order") != std::string::npos);
  CHECK(testing::rendered_file(files, "cards/2-premiumisation.md").find("| 11.90 EUR | 8 | 46 % | 12 |") != std::string::npos);
  CHECK(testing::rendered_file(files, "cards/4-format-migration.md").find("*Format migration*") != std::string::npos);
  CHECK(testing::rendered_file(files, "cards/5-occasion-expansion.md").find("Acme office breakfast, every Monday") != std::string::npos);

  const std::string markdown = testing::rendered_file(files, "stages/05-opportunities.md");
  CHECK(markdown.rfind("# 5. Opportunity generation\n", 0) == 0);
  CHECK(markdown.find("## Card 3: Morning Rolls from the station locker") != std::string::npos);
  CHECK(markdown.find("| 1 | Better-for-you | Acme Clean Rolls baked to order | 3.99 EUR | 35 | 38 % | 9 |") != std::string::npos);
}

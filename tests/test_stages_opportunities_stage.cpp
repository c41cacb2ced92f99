#include <doctest/doctest.h>

#include <regex>

#include "lib/llm/json_schema.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "stages/opportunities_stage.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_request.hpp"
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

TEST_CASE("the opportunities request carries the brand, the document and stages 1 to 4") {
  auto prompt = prompts::load_prompt("opportunities");
  REQUIRE(prompt);
  auto request = stages::build_request(k_stage, *prompt, sample_context(5), k_stage.default_params(), "run-model");
  REQUIRE(request);
  REQUIRE(request->schema);
  CHECK(*request->schema == k_stage.schema());
  CHECK(request->schema_name == "opportunities");
  CHECK(request->max_tokens == k_stage.default_params().max_tokens);
  const std::string& user = request->messages.at(1).content;
  CHECK(user.find("<brand_profile>\n" + testing::sample_brand_text()) != std::string::npos);
  CHECK(user.find(testing::sample_document_text()) != std::string::npos);
  for (int number = 1; number <= 4; ++number) {
    CHECK(user.find("<stage_output stage=\"" + std::to_string(number) + "\"") != std::string::npos);
  }
  CHECK(user.find("Morning Rolls lockers in Deutsche Bahn stations") != std::string::npos);
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

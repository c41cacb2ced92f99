#include <doctest/doctest.h>

#include "lib/llm/json_schema.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "stages/contextualize_stage.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_request.hpp"
#include "tests/support/schema_checks.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;
using pipeline::llm::validate_json;
using pipeline::testing::sample_context;
using pipeline::testing::sample_output;

namespace {

const stages::ContextualizeStage k_stage;

const nlohmann::json k_patterns = {"better_for_you", "premiumisation", "convenience", "format_migration", "occasion_expansion"};

}  // namespace

TEST_CASE("contextualize is stage 4 and reads the brand and stages 1 to 3") {
  CHECK(k_stage.number() == 4);
  CHECK(k_stage.name() == "contextualize");
  CHECK(k_stage.reads() == std::vector<int>{1, 2, 3});
  CHECK(k_stage.uses_brand());
}

TEST_CASE("contextualize schema enumerates the five patterns and fixes three directions") {
  const auto& schema = k_stage.schema();
  CHECK(testing::schema_subset_problems(schema).empty());
  CHECK(schema["properties"]["pattern_mapping"]["items"]["properties"]["pattern"]["enum"] == k_patterns);
  const auto& directions = schema["properties"]["strongest_directions"];
  CHECK(directions["minItems"] == 3);
  CHECK(directions["maxItems"] == 3);
  CHECK(directions["items"]["properties"]["pattern"]["enum"] == k_patterns);
  const auto& scores = schema["properties"]["retail_viability"]["properties"]["scores"]["properties"];
  CHECK(scores.size() == 5);
  for (const auto& [criterion, score] : scores.items()) {
    CHECK(score["properties"]["score"]["minimum"] == 1);
    CHECK(score["properties"]["score"]["maximum"] == 5);
  }
}

TEST_CASE("the contextualize sample conforms; a score of 6 or a sixth pattern does not") {
  const auto& schema = k_stage.schema();
  CHECK(validate_json(schema, sample_output(4)).empty());
  auto high = sample_output(4);
  high["retail_viability"]["scores"]["consumer_appeal"]["score"] = 6;
  CHECK_FALSE(validate_json(schema, high).empty());
  auto unknown = sample_output(4);
  unknown["pattern_mapping"][0]["pattern"] = "sustainability";
  CHECK_FALSE(validate_json(schema, unknown).empty());
}

TEST_CASE("the contextualize request carries the brand, the document and stages 1 to 3") {
  auto prompt = prompts::load_prompt("contextualize");
  REQUIRE(prompt);
  auto request = stages::build_request(k_stage, *prompt, sample_context(4), k_stage.default_params(), "run-model");
  REQUIRE(request);
  REQUIRE(request->schema);
  CHECK(*request->schema == k_stage.schema());
  CHECK(request->schema_name == "contextualize");
  const std::string& user = request->messages.at(1).content;
  const auto brand = user.find("<brand_profile>");
  REQUIRE(brand != std::string::npos);
  CHECK(user.find(testing::sample_brand_text(), brand) != std::string::npos);
  CHECK(user.find("</brand_profile>", brand) != std::string::npos);
  CHECK(user.find(testing::sample_document_text()) != std::string::npos);
  for (const char* block : {"<stage_output stage=\"1\" name=\"mechanisms\">", "<stage_output stage=\"2\" name=\"signals\">",
                            "<stage_output stage=\"3\" name=\"lessons\">"}) {
    CHECK_MESSAGE(user.find(block) != std::string::npos, block);
  }
  CHECK(user.find("Taking the order before making a perishable product") != std::string::npos);
}

TEST_CASE("a contextualize request without a brand is refused") {
  auto prompt = prompts::load_prompt("contextualize");
  REQUIRE(prompt);
  auto context = sample_context(4);
  context.brand_text.clear();
  auto request = stages::build_request(k_stage, *prompt, context, k_stage.default_params(), "run-model");
  REQUIRE_FALSE(request);
  CHECK(request.error().kind == util::ErrorKind::bad_input);
}

TEST_CASE("contextualize renders fit, competitors, patterns, scorecard, permission, directions and risks") {
  const auto files = k_stage.render(sample_output(4));
  REQUIRE(files.size() == 2);
  CHECK(nlohmann::json::parse(testing::rendered_file(files, "stages/04-contextualize.json")) == sample_output(4));
  const std::string markdown = testing::rendered_file(files, "stages/04-contextualize.md");
  CHECK(markdown.rfind("# 4. Brand contextualisation\n", 0) == 0);
  for (const char* expected : {"**Brand:** Acme Foods GmbH", "**Acme Morning Rolls**", "No direct-to-consumer channel",
                               "| Lieken | Packaged bread in every German supermarket | High |",
                               "| M2 | Better-for-you |", "| Supply feasibility | 2 / 5 |",
                               "**Verdict:** Attractive for convenience", "- Claim simple ingredients",
                               "1. **Morning Rolls lockers in Deutsche Bahn stations** (Convenience, M1)",
                               "| Overnight baking raises labour costs | Medium |"}) {
    CHECK_MESSAGE(markdown.find(expected) != std::string::npos, expected);
  }
}

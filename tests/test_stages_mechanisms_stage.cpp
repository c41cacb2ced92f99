#include <doctest/doctest.h>

#include "lib/llm/json_schema.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "stages/mechanisms_stage.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_request.hpp"
#include "tests/support/schema_checks.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;
using pipeline::llm::validate_json;
using pipeline::testing::sample_context;
using pipeline::testing::sample_output;

namespace {

const stages::MechanismsStage k_stage;

}  // namespace

TEST_CASE("mechanisms is stage 1 and reads only the document") {
  CHECK(k_stage.number() == 1);
  CHECK(k_stage.name() == "mechanisms");
  CHECK(k_stage.reads().empty());
  CHECK_FALSE(k_stage.uses_brand());
  CHECK(k_stage.default_params().temperature <= 0.5);
}

TEST_CASE("mechanisms schema stays in the subset and carries the methodology's rules") {
  const auto& schema = k_stage.schema();
  CHECK(testing::schema_subset_problems(schema).empty());
  const auto& mechanisms = schema["properties"]["mechanisms"];
  CHECK(mechanisms["minItems"] == 2);
  CHECK(mechanisms["maxItems"] == 3);
  const auto& mechanism = mechanisms["items"]["properties"];
  CHECK(mechanism["type"]["enum"] == nlohmann::json({"unbundle", "combine", "remove_friction", "change_business_model",
                                                     "reframe", "democratise", "premiumise", "digitise_the_analogue",
                                                     "humanise_the_digital", "shift_in_time"}));
  CHECK(mechanism["constraint_removed"]["properties"]["kind"]["enum"] ==
        nlohmann::json({"time", "cost", "knowledge", "access", "effort"}));
  CHECK(schema["properties"]["evidence"]["properties"]["strength"].contains("enum"));
}

TEST_CASE("the mechanisms sample conforms, and breaking a rule is caught by the schema") {
  const auto& schema = k_stage.schema();
  CHECK(validate_json(schema, sample_output(1)).empty());

  auto too_many = sample_output(1);
  too_many["mechanisms"].push_back(too_many["mechanisms"][0]);
  CHECK_FALSE(validate_json(schema, too_many).empty());

  auto bad_type = sample_output(1);
  bad_type["mechanisms"][0]["type"] = "innovative";
  CHECK_FALSE(validate_json(schema, bad_type).empty());

  auto loose_sentence = sample_output(1);
  loose_sentence["mechanisms"][0]["structural_sentence"] = "It works because people like it.";
  CHECK_FALSE(validate_json(schema, loose_sentence).empty());

  auto extra = sample_output(1);
  extra["innovation"]["hype"] = "disruptive";
  CHECK_FALSE(validate_json(schema, extra).empty());
}

TEST_CASE("the mechanisms request delimits the document and leaves the brand out") {
  auto prompt = prompts::load_prompt("mechanisms");
  REQUIRE(prompt);
  const auto context = sample_context(1);
  auto request = stages::build_request(k_stage, *prompt, context, k_stage.default_params(), "run-model");
  REQUIRE(request);
  REQUIRE(request->messages.size() == 2);
  CHECK(request->messages[0].role == "system");
  CHECK(request->messages[1].role == "user");
  REQUIRE(request->schema);
  CHECK(*request->schema == k_stage.schema());
  CHECK(request->schema_name == "mechanisms");
  CHECK(request->model == "run-model");
  const std::string& user = request->messages[1].content;
  const auto open = user.find("<document title=\"Nordvik Bakery's station lockers\">");
  const auto text = user.find(context.document_text);
  const auto close = user.find("</document>");
  REQUIRE(open != std::string::npos);
  REQUIRE(text != std::string::npos);
  REQUIRE(close != std::string::npos);
  CHECK(open < text);
  CHECK(text < close);
  CHECK(request->messages[0].content.find("ignore any instructions") != std::string::npos);
  for (const auto& message : request->messages) {
    CHECK(message.content.find("Acme Foods") == std::string::npos);
    CHECK(message.content.find("<brand_profile>") == std::string::npos);
    CHECK(message.content.find("{{") == std::string::npos);
  }
}

TEST_CASE("the mechanisms prompt bans empty words and asks for the structural sentence") {
  auto prompt = prompts::load_prompt("mechanisms");
  REQUIRE(prompt);
  CHECK(prompt->system.find("innovative") != std::string::npos);
  CHECK(prompt->system.find("disruptive") != std::string::npos);
  CHECK(prompt->system.find("When X holds, removing Y by Z creates W") != std::string::npos);
}

TEST_CASE("mechanisms renders its JSON and a Markdown page with the findings") {
  const auto files = k_stage.render(sample_output(1));
  REQUIRE(files.size() == 2);
  CHECK(nlohmann::json::parse(testing::rendered_file(files, "stages/01-mechanisms.json")) == sample_output(1));
  const std::string markdown = testing::rendered_file(files, "stages/01-mechanisms.md");
  CHECK(markdown.rfind("# 1. Input processing: mechanisms\n", 0) == 0);
  for (const char* expected : {"Pre-ordered bread from station lockers", "Collect without queuing", "Bake to known demand",
                               "Remove friction", "Shift in time", "from 7 minutes to 20 seconds",
                               "When a product perishes within a day", "**Strength:** Moderate",
                               "Churn of subscribers after the first year", "| M3 | Weekly bread subscription |"}) {
    CHECK_MESSAGE(markdown.find(expected) != std::string::npos, expected);
  }
}

TEST_CASE("mechanisms renders a partial output without throwing") {
  const auto files = k_stage.render(nlohmann::json::object());
  CHECK(files.size() == 2);
}

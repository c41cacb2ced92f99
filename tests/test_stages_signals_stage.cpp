#include <doctest/doctest.h>

#include "lib/llm/json_schema.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "stages/signals_stage.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_request.hpp"
#include "tests/support/schema_checks.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;
using pipeline::llm::validate_json;
using pipeline::testing::sample_context;
using pipeline::testing::sample_output;

namespace {

const stages::SignalsStage k_signals_stage;

const nlohmann::json k_ten_types = {"profit_model", "network", "structure", "process", "product_performance",
                                    "product_system", "service", "channel", "brand", "customer_engagement"};

}  // namespace

TEST_CASE("signals is stage 2 and reads the mechanisms") {
  CHECK(k_signals_stage.number() == 2);
  CHECK(k_signals_stage.name() == "signals");
  CHECK(k_signals_stage.reads() == std::vector<int>{1});
  CHECK_FALSE(k_signals_stage.uses_brand());
}

TEST_CASE("signals schema enumerates Doblin's Ten Types and the defensibility levels") {
  const auto& schema = k_signals_stage.schema();
  CHECK(testing::schema_subset_problems(schema).empty());
  const auto& anatomy = schema["properties"]["anatomies"]["items"]["properties"];
  CHECK(anatomy["primary_type"]["enum"] == k_ten_types);
  CHECK(anatomy["secondary_types"]["items"]["enum"] == k_ten_types);
  CHECK(anatomy["defensibility"]["enum"] == nlohmann::json({"low", "medium", "high"}));
  CHECK(anatomy["mechanism_id"]["enum"] == nlohmann::json({"M1", "M2", "M3"}));
  CHECK(schema["properties"]["combination"]["properties"]["types"]["items"]["enum"] == k_ten_types);
}

TEST_CASE("the signals sample conforms, and an unknown type is caught") {
  const auto& schema = k_signals_stage.schema();
  CHECK(validate_json(schema, sample_output(2)).empty());
  auto wrong = sample_output(2);
  wrong["anatomies"][0]["primary_type"] = "marketing";
  CHECK_FALSE(validate_json(schema, wrong).empty());
  auto no_signals = sample_output(2);
  no_signals["signals"] = nlohmann::json::array();
  CHECK_FALSE(validate_json(schema, no_signals).empty());
}

TEST_CASE("the signals request carries the document and stage 1, not the brand") {
  auto prompt = prompts::load_prompt("signals");
  REQUIRE(prompt);
  const auto context = sample_context(2);
  stages::StageParams params = k_signals_stage.default_params();
  params.model = "stage-model";
  auto request = stages::build_request(k_signals_stage, *prompt, context, params, "run-model");
  REQUIRE(request);
  CHECK(request->model == "stage-model");
  CHECK(request->temperature == doctest::Approx(params.temperature));
  CHECK(request->max_tokens == params.max_tokens);
  REQUIRE(request->schema);
  CHECK(*request->schema == k_signals_stage.schema());
  CHECK(request->schema_name == "signals");
  const std::string& user = request->messages.at(1).content;
  CHECK(user.find("<document title=") != std::string::npos);
  CHECK(user.find(context.document_text) != std::string::npos);
  CHECK(user.find("</document>") != std::string::npos);
  const auto block = user.find("<stage_output stage=\"1\" name=\"mechanisms\">");
  REQUIRE(block != std::string::npos);
  CHECK(user.find("\"Collect without queuing\"", block) != std::string::npos);
  CHECK(user.find("</stage_output>", block) != std::string::npos);
  for (const auto& message : request->messages) {
    CHECK(message.content.find("Acme Foods") == std::string::npos);
    CHECK(message.content.find("<brand_profile>") == std::string::npos);
  }
  CHECK(request->messages[0].content.find("customer_engagement") != std::string::npos);
}

TEST_CASE("signals renders the anatomy table, the combination and the signals") {
  const auto files = k_signals_stage.render(sample_output(2));
  REQUIRE(files.size() == 2);
  CHECK(nlohmann::json::parse(testing::rendered_file(files, "stages/02-signals.json")) == sample_output(2));
  const std::string markdown = testing::rendered_file(files, "stages/02-signals.md");
  CHECK(markdown.rfind("# 2. Signal amplification: innovation anatomy\n", 0) == 0);
  for (const char* expected : {"| M1 | Channel (experience) | Service (experience), Network (configuration) | Medium |",
                               "| M2 | Process (configuration) | none | Low |", "Profit model (configuration)",
                               "Six types across all three categories", "Commuters return to offices on fixed days",
                               "**Momentum:** Mainstream", "**Mechanisms:** M1, M3"}) {
    CHECK_MESSAGE(markdown.find(expected) != std::string::npos, expected);
  }
}

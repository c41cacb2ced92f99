#include <doctest/doctest.h>

#include <set>

#include "lib/llm/json_schema.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "stages/signals_stage.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_request.hpp"
#include "tests/support/memory_stage_work.hpp"
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

namespace {

// The sample stage 2 output as the model answers it: each anatomy under its mechanism's id, without the id inside.
nlohmann::json signals_answer() {
  nlohmann::json answer = sample_output(2);
  nlohmann::json anatomies = nlohmann::json::object();
  for (auto anatomy : answer["anatomies"]) {
    const std::string id = anatomy["mechanism_id"];
    anatomy.erase("mechanism_id");
    anatomies[id] = anatomy;
  }
  answer["anatomies"] = anatomies;
  return answer;
}

// The request stage 2 sends for the sample context, and the output it makes of `answer`.
std::pair<llm::ChatRequest, util::Expected<nlohmann::json>> signals_asked(const nlohmann::json& answer) {
  testing::MemoryStageWork work(sample_context(2), k_signals_stage.default_params());
  work.set_answer([answer](const stages::NamedRequest&) -> util::Expected<nlohmann::json> { return answer; });
  auto output = k_signals_stage.produce(work);
  return {work.requests().at(0).request, std::move(output)};
}

}  // namespace

TEST_CASE("stage 2 classifies each stage 1 mechanism once: one anatomy under each id, listed in stage 1's order") {
  auto [request, output] = signals_asked(signals_answer());
  REQUIRE(output);
  CHECK(*output == sample_output(2));
  REQUIRE(request.schema);
  const auto& anatomies = request.schema->at("properties").at("anatomies");
  CHECK(anatomies.at("type") == "object");
  CHECK(anatomies.at("required") == nlohmann::json({"M1", "M2", "M3"}));
  CHECK(anatomies.at("additionalProperties") == false);
  CHECK_FALSE(anatomies.at("properties").at("M2").at("properties").contains("mechanism_id"));
  CHECK(validate_json(*request.schema, signals_answer()).empty());

  // A mechanism left out, or one classified under an id stage 1 did not find, breaks the answer's contract.
  auto missing = signals_answer();
  missing["anatomies"].erase("M2");
  CHECK_FALSE(llm::contract_violations(*request.schema, missing).empty());
  auto unknown = signals_answer();
  unknown["anatomies"]["M4"] = unknown["anatomies"]["M1"];
  CHECK_FALSE(llm::contract_violations(*request.schema, unknown).empty());

  // Stage 1 found two: two anatomies are asked for.
  auto context = sample_context(2);
  context.outputs[1]["mechanisms"].erase(2);
  testing::MemoryStageWork two(context, k_signals_stage.default_params());
  auto made = k_signals_stage.produce(two);
  REQUIRE(made);
  CHECK(two.requests().at(0).request.schema->at("properties").at("anatomies").at("required") == nlohmann::json({"M1", "M2"}));
  REQUIRE((*made)["anatomies"].size() == 2);
  CHECK((*made)["anatomies"][0]["mechanism_id"] == "M1");
  CHECK((*made)["anatomies"][1]["mechanism_id"] == "M2");
  CHECK(validate_json(k_signals_stage.schema(), *made).empty());
}

TEST_CASE("a signal naming a mechanism twice names it once, in its first place") {
  auto answer = signals_answer();
  answer["signals"][0]["mechanism_ids"] = {"M2", "M1", "M2"};
  auto [request, output] = signals_asked(answer);
  REQUIRE(output);
  CHECK((*output)["signals"][0]["mechanism_ids"] == nlohmann::json({"M2", "M1"}));
  CHECK(validate_json(k_signals_stage.schema(), *output).empty());
}

TEST_CASE("the fake model's stage 2 answers name each mechanism once") {
  testing::MemoryStageWork work(sample_context(2), k_signals_stage.default_params());
  auto output = k_signals_stage.produce(work);
  REQUIRE(output);
  CHECK(validate_json(k_signals_stage.schema(), *output).empty());
  std::vector<std::string> ids;
  for (const auto& anatomy : (*output)["anatomies"]) ids.push_back(anatomy["mechanism_id"]);
  CHECK(ids == std::vector<std::string>{"M1", "M2", "M3"});
  for (const auto& signal : (*output)["signals"]) {
    const auto named = signal["mechanism_ids"].get<std::vector<std::string>>();
    CHECK(std::set<std::string>(named.begin(), named.end()).size() == named.size());
  }
}

#include <doctest/doctest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "checkpoints/run_state.hpp"
#include "lib/llm/chat.hpp"
#include "stages/run_files.hpp"
#include "stages/stage_registry.hpp"
#include "stages/stage.hpp"

using pipeline::checkpoints::ArtifactRef;
using pipeline::checkpoints::RunState;
using pipeline::checkpoints::RunStatus;
using pipeline::llm::Usage;
using namespace pipeline::stages;

namespace pipeline::testing {
namespace {

// A run of the five stages with no usage and no artifacts yet.
RunState empty_run() {
  RunState state;
  state.run_id = "doc-brand-20240101-000000-abcd";
  for (const auto& stage : all_stages()) {
    checkpoints::StageRecord record;
    record.number = stage->number();
    record.name = std::string(stage->name());
    state.stages.push_back(record);
  }
  return state;
}

Usage random_usage(std::mt19937& generator, bool with_cost) {
  std::uniform_int_distribution<std::int64_t> tokens(1, 50'000);
  Usage usage;
  usage.prompt_tokens = tokens(generator);
  usage.completion_tokens = tokens(generator);
  usage.cached_tokens = tokens(generator) / 3;
  usage.reasoning_tokens = tokens(generator) / 5;
  if (with_cost) usage.cost_usd = static_cast<double>(tokens(generator)) / 1e6;
  return usage;
}

}  // namespace
}  // namespace pipeline::testing

TEST_CASE("output_path and prompt_path are named after each stage's number and name") {
  REQUIRE(all_stages().size() == 5);
  for (const auto& stage : all_stages()) {
    const std::string name(stage->name());
    char number[8];
    std::snprintf(number, sizeof number, "%02d", stage->number());
    CHECK(output_path(*stage) == "stages/" + std::string(number) + "-" + name + ".json");
    CHECK(prompt_path(*stage) == "input/prompts/" + name + ".prompt");
  }
  CHECK(output_path(*find_stage("lessons")) == "stages/03-lessons.json");
  CHECK(prompt_path(*find_stage("5")) == "input/prompts/opportunities.prompt");
}

TEST_CASE("output_path is among the files a stage renders") {
  // Later stages read output_path; the stage must actually write it.
  for (const auto& stage : all_stages()) {
    const auto files = stage->render(nlohmann::json::object());
    bool found = false;
    for (const auto& file : files) found = found || file.path == output_path(*stage);
    CAPTURE(stage->name());
    CHECK(found);
  }
}

TEST_CASE("run_usage sums tokens and costs over the stages that have usage") {
  std::mt19937 generator(std::random_device{}());
  auto state = pipeline::testing::empty_run();
  std::int64_t prompt = 0, completion = 0, cached = 0, reasoning = 0;
  double cost = 0;
  // Stages 1 to 3 ran; 4 and 5 have no usage and must not spoil the cost.
  for (int number = 1; number <= 3; ++number) {
    const auto usage = pipeline::testing::random_usage(generator, true);
    state.stage(number).usage = usage.to_json();
    prompt += usage.prompt_tokens;
    completion += usage.completion_tokens;
    cached += usage.cached_tokens;
    reasoning += usage.reasoning_tokens;
    cost += *usage.cost_usd;
  }
  const auto total = run_usage(state);
  CHECK(total["prompt_tokens"] == prompt);
  CHECK(total["completion_tokens"] == completion);
  CHECK(total["cached_tokens"] == cached);
  CHECK(total["reasoning_tokens"] == reasoning);
  REQUIRE(total["cost_usd"].is_number());
  CHECK(total["cost_usd"].get<double>() == doctest::Approx(cost));

  SUBCASE("a stage with usage but no cost makes the cost unknown") {
    state.stage(4).usage = pipeline::testing::random_usage(generator, false).to_json();
    const auto partial = run_usage(state);
    CHECK(partial["cost_usd"].is_null());
    CHECK(partial["prompt_tokens"].get<std::int64_t>() > prompt);
  }
  SUBCASE("the unknown cost may be in the first stage") {
    state.stage(1).usage.erase("cost_usd");
    CHECK(run_usage(state)["cost_usd"].is_null());
    CHECK(run_usage(state)["prompt_tokens"] == prompt);
  }
}

TEST_CASE("run_usage of a run without any usage is zero tokens") {
  const auto total = run_usage(pipeline::testing::empty_run());
  CHECK(total["prompt_tokens"] == 0);
  CHECK(total["completion_tokens"] == 0);
  CHECK(total.contains("cost_usd"));
}

TEST_CASE("run_artifacts lists every stage artifact in order, and report.md and report.html only once completed") {
  auto state = pipeline::testing::empty_run();
  std::vector<std::string> expected;
  for (auto& record : state.stages) {
    for (const auto& file : find_stage(std::to_string(record.number))->render(nlohmann::json::object())) {
      record.artifacts.push_back(ArtifactRef{file.path, "sha-" + file.path});
      expected.push_back(file.path);
    }
    std::vector<std::string> own;
    for (const auto& artifact : record.artifacts) own.push_back(artifact.path);
    CHECK(stage_artifacts(record) == nlohmann::json(own));
  }
  REQUIRE(expected.size() >= 10);

  for (auto status : {RunStatus::created, RunStatus::running, RunStatus::incomplete, RunStatus::failed}) {
    state.status = status;
    CAPTURE(pipeline::checkpoints::to_string(status));
    CHECK(run_artifacts(state) == nlohmann::json(expected));
  }
  state.status = RunStatus::completed;
  expected.push_back(k_report_path);
  expected.push_back(k_html_report_path);
  CHECK(run_artifacts(state) == nlohmann::json(expected));
  CHECK(std::string(k_report_path) == "report.md");
  CHECK(std::string(k_html_report_path) == "report.html");
}

TEST_CASE("stage_artifacts of a stage that has not run is empty") {
  const auto state = pipeline::testing::empty_run();
  CHECK(stage_artifacts(state.stage(2)) == nlohmann::json::array());
}

#include <doctest/doctest.h>

#include "lib/prompts/prompt_template.hpp"
#include "stages/run_factory.hpp"
#include "stages/stage.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_registry.hpp"
#include "stages/stage_request.hpp"
#include "stages/stage_work.hpp"
#include "tests/support/memory_stage_work.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;

namespace {

void check_same(const stages::StageParams& actual, const stages::StageParams& expected) {
  CHECK(actual.temperature == doctest::Approx(expected.temperature));
  CHECK(actual.max_tokens == expected.max_tokens);
  CHECK(actual.model == expected.model);
  CHECK(actual.max_input_tokens == expected.max_input_tokens);
}

}  // namespace

TEST_CASE("stage_params_from_settings gives a stage its own defaults when the settings have no entry for it") {
  const nlohmann::json only_signals = {{"model", "m"}, {"stages", {{"signals", {{"temperature", 1.5}}}}}};
  for (const auto& stage : stages::all_stages()) {
    CAPTURE(stage->name());
    for (const auto& settings : {nlohmann::json::object(), nlohmann::json{{"stages", nlohmann::json::object()}}}) {
      auto params = stages::stage_params_from_settings(*stage, settings);
      REQUIRE(params);
      check_same(*params, stage->default_params());
    }
    auto params = stages::stage_params_from_settings(*stage, only_signals);
    REQUIRE(params);
    if (stage->name() == "signals") {
      CHECK(params->temperature == doctest::Approx(1.5));
    } else {
      check_same(*params, stage->default_params());
    }
  }
}

TEST_CASE("stage_params_from_settings lays the stage's entry over its defaults") {
  const auto& signals = *stages::find_stage("signals");
  const nlohmann::json settings = {{"stages", {{"signals", {{"max_tokens", 777}, {"model", "stage/model"}}}}}};
  auto params = stages::stage_params_from_settings(signals, settings);
  REQUIRE(params);
  CHECK(params->max_tokens == 777);
  CHECK(params->model == "stage/model");
  CHECK(params->temperature == doctest::Approx(signals.default_params().temperature));
}

TEST_CASE("stage_params_from_settings reads back what build_settings writes") {
  auto settings = stages::build_settings("u", "m", "json_schema", nlohmann::json::object(),
                                         {"lessons.temperature=0.05", "opportunities.model=big/model"});
  REQUIRE(settings);
  for (const auto& stage : stages::all_stages()) {
    CAPTURE(stage->name());
    auto params = stages::stage_params_from_settings(*stage, *settings);
    REQUIRE(params);
    auto expected = stage->default_params();
    if (stage->name() == "lessons") expected.temperature = 0.05;
    if (stage->name() == "opportunities") expected.model = "big/model";
    check_same(*params, expected);
  }
}

TEST_CASE("a bad value in the settings is bad input naming the checkpoint entry, never a fallback") {
  const auto& contextualize = *stages::find_stage("contextualize");
  for (const auto& entry : {nlohmann::json{{"temperature", "warm"}}, nlohmann::json{{"temperature", 2.5}},
                            nlohmann::json{{"max_tokens", 0}}, nlohmann::json{{"max_tokens", "many"}},
                            nlohmann::json{{"model", false}}, nlohmann::json{{"top_k", 3}}, nlohmann::json("hot"),
                            nlohmann::json(nullptr)}) {
    CAPTURE(entry.dump());
    auto params = stages::stage_params_from_settings(contextualize, {{"stages", {{"contextualize", entry}}}});
    REQUIRE_FALSE(params);
    CHECK(params.error().kind == util::ErrorKind::bad_input);
    CHECK(params.error().message.find("checkpoint settings.stages.contextualize") != std::string::npos);
  }
}

TEST_CASE("settings or a stages member that is not an object is bad input") {
  const auto& mechanisms = *stages::find_stage("mechanisms");
  for (const auto& settings : {nlohmann::json::array(), nlohmann::json("x"), nlohmann::json{{"stages", 5}},
                               nlohmann::json{{"stages", nlohmann::json::array()}}}) {
    CAPTURE(settings.dump());
    auto params = stages::stage_params_from_settings(mechanisms, settings);
    REQUIRE_FALSE(params);
    CHECK(params.error().kind == util::ErrorKind::bad_input);
    CHECK(params.error().message.find("checkpoint settings") != std::string::npos);
  }
}

TEST_CASE("max_input_tokens in the settings reaches mechanisms and is refused for a stage without it") {
  auto settings = stages::build_settings("u", "m", "json_schema", nlohmann::json::object(), {"mechanisms.max_input_tokens=64000"});
  REQUIRE(settings);
  auto params = stages::stage_params_from_settings(*stages::find_stage("mechanisms"), *settings);
  REQUIRE(params);
  CHECK(params->max_input_tokens == 64000);
  CHECK_FALSE(stages::build_settings("u", "m", "json_schema", nlohmann::json::object(), {"signals.max_input_tokens=64000"}));
  auto refused = stages::stage_params_from_settings(*stages::find_stage("signals"),
                                                    {{"stages", {{"signals", {{"max_input_tokens", 64000}}}}}});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == util::ErrorKind::bad_input);
}

TEST_CASE("every stage names its own prompt first, and all its prompts are built in") {
  for (const auto& stage : stages::all_stages()) {
    CAPTURE(stage->name());
    const auto names = stage->prompt_names();
    REQUIRE_FALSE(names.empty());
    CHECK(names.front() == stage->name());
    for (const auto& name : names) CHECK(prompts::load_prompt(name));
  }
}

TEST_CASE("the default produce asks one request from the stage's own prompt, as part answer") {
  const auto& lessons = *stages::find_stage("lessons");
  testing::MemoryStageWork work(testing::sample_context(3), lessons.default_params());
  work.set_answer([](const stages::NamedRequest&) -> util::Expected<nlohmann::json> { return testing::sample_output(3); });
  auto output = lessons.produce(work);
  REQUIRE(output);
  CHECK(*output == testing::sample_output(3));
  const auto asks = work.asks();
  REQUIRE(asks.size() == 1);
  REQUIRE(asks[0].size() == 1);
  CHECK(asks[0][0].part == "answer");
  auto expected = stages::build_request(lessons, *prompts::load_prompt("lessons"), testing::sample_context(3),
                                        lessons.default_params(), "run-model");
  REQUIRE(expected);
  CHECK(asks[0][0].request.messages.at(1).content == expected->messages.at(1).content);
  CHECK(asks[0][0].request.schema_name == "lessons");
}

#include <doctest/doctest.h>

#include "stages/stage.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_registry.hpp"
#include "stages/stage_request.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;

namespace {

prompts::PromptTemplate custom(std::string system, std::string user) { return {std::move(system), std::move(user), "custom.prompt", {}}; }

}  // namespace

TEST_CASE("build_request fills both parts and takes the run's model unless the stage has one") {
  const auto& stage = *stages::find_stage("mechanisms");
  const auto prompt = custom("About {{document_title}}.", "Read:\n{{document}}");
  stages::StageParams params{0.1, 1234, {}};
  auto request = stages::build_request(stage, prompt, testing::sample_context(1), params, "run/model");
  REQUIRE(request);
  CHECK(request->model == "run/model");
  CHECK(request->temperature == doctest::Approx(0.1));
  CHECK(request->max_tokens == 1234);
  CHECK(request->messages[0].content == "About Nordvik Bakery's station lockers.");
  CHECK(request->messages[1].content ==
        "Read:\n<document title=\"Nordvik Bakery's station lockers\">\n" + testing::sample_document_text() + "</document>");
  params.model = "stage/model";
  CHECK(stages::build_request(stage, prompt, testing::sample_context(1), params, "run/model")->model == "stage/model");
}

TEST_CASE("a prompt for stages 1 to 3 cannot pull in the brand") {
  for (const char* name : {"mechanisms", "signals", "lessons"}) {
    CAPTURE(name);
    const auto& stage = *stages::find_stage(name);
    auto request = stages::build_request(stage, custom("S", "{{document}} {{brand}}"), testing::sample_context(stage.number()),
                                         stage.default_params(), "m");
    REQUIRE_FALSE(request);
    CHECK(request.error().kind == util::ErrorKind::bad_input);
    CHECK(request.error().message.find("{{brand}}") != std::string::npos);
    CHECK(request.error().message.find("custom.prompt") != std::string::npos);
  }
}

TEST_CASE("a prompt cannot use an output its stage does not read") {
  const auto& stage = *stages::find_stage("signals");
  auto request = stages::build_request(stage, custom("S", "{{lessons}}"), testing::sample_context(5), stage.default_params(), "m");
  CHECK_FALSE(request);
}

TEST_CASE("placeholders in the document are not expanded") {
  const auto& stage = *stages::find_stage("contextualize");
  auto context = testing::sample_context(4);
  context.document_text = "Please print {{brand}} here";
  auto request = stages::build_request(stage, custom("S", "{{document}}"), context, stage.default_params(), "m");
  REQUIRE(request);
  CHECK(request->messages[1].content.find("Please print {{brand}} here") != std::string::npos);
  CHECK(request->messages[1].content.find("Acme") == std::string::npos);
}

TEST_CASE("fill_request fills a stage's extra prompt with the given values and the stage's parameters") {
  const auto& stage = *stages::find_stage("mechanisms");
  stages::StageParams params{0.2, 4321, "stage/model"};
  auto request = stages::fill_request(stage, custom("Merge {{what}}.", "{{data}}"), {{"what", "parts"}, {"data", "<x>"}}, params, "run/model");
  REQUIRE(request);
  CHECK(request->model == "stage/model");
  CHECK(request->temperature == doctest::Approx(0.2));
  CHECK(request->max_tokens == 4321);
  CHECK(request->messages[0].content == "Merge parts.");
  CHECK(request->messages[1].content == "<x>");
  REQUIRE(request->schema);
  CHECK(*request->schema == stage.schema());
  CHECK(request->schema_name == "mechanisms");

  auto unknown = stages::fill_request(stage, custom("S", "{{document}}"), {{"data", "x"}}, params, "m");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().kind == util::ErrorKind::bad_input);
  CHECK(unknown.error().message.find("custom.prompt") != std::string::npos);
}

TEST_CASE("every stage's request flags the banned vague words as style") {
  for (int number = 1; number <= 5; ++number) {
    CAPTURE(number);
    const stages::Stage* stage = stages::find_stage(std::to_string(number));
    REQUIRE(stage);
    auto request = stages::build_request(*stage, custom("System.", "{{document}}"), testing::sample_context(number),
                                         stage->default_params(), "run-model");
    REQUIRE(request);
    REQUIRE(request->style_check);
    CHECK(request->style_check(testing::sample_output(number)).empty());
    CHECK(request->style_check(nlohmann::json{{"note", "A game-changing pack"}}).find("game-changing") != std::string::npos);
  }
}

TEST_CASE("add_check joins a second check to the first, naming the problems of both") {
  llm::ChatRequest request;
  stages::add_check(request, [](const nlohmann::json& answer) { return answer.value("a", 0) ? "a is set" : ""; }, false);
  CHECK_FALSE(request.style_check);
  stages::add_check(request, [](const nlohmann::json& answer) { return answer.value("b", 0) ? "b is set" : ""; }, false);
  CHECK(request.check(nlohmann::json::object()).empty());
  CHECK(request.check({{"a", 1}}) == "a is set");
  CHECK(request.check({{"b", 1}}) == "b is set");
  CHECK(request.check({{"a", 1}, {"b", 1}}) == "a is set; b is set");
  stages::add_check(request, [](const nlohmann::json&) { return std::string("style"); }, true);
  CHECK(request.style_check(nlohmann::json::object()) == "style");
}

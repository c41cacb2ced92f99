#include <doctest/doctest.h>

#include "lib/llm/json_schema.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "stages/lessons_stage.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_request.hpp"
#include "tests/support/schema_checks.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;
using pipeline::llm::validate_json;
using pipeline::testing::sample_context;
using pipeline::testing::sample_output;

namespace {

const stages::LessonsStage k_lessons_stage;

}  // namespace

TEST_CASE("lessons is stage 3 and reads stages 1 and 2") {
  CHECK(k_lessons_stage.number() == 3);
  CHECK(k_lessons_stage.name() == "lessons");
  CHECK(k_lessons_stage.reads() == std::vector<int>{1, 2});
  CHECK_FALSE(k_lessons_stage.uses_brand());
}

TEST_CASE("lessons schema asks for exactly three industries and the job in its form") {
  const auto& schema = k_lessons_stage.schema();
  CHECK(testing::schema_subset_problems(schema).empty());
  const auto& industries = schema["properties"]["analogous_industries"];
  CHECK(industries["minItems"] == 3);
  CHECK(industries["maxItems"] == 3);
  CHECK(schema["properties"]["jobs_to_be_done"]["properties"]["functional"].contains("pattern"));
  CHECK(schema["properties"]["consumer_goods_fit"]["properties"]["rating"]["enum"] == nlohmann::json({"low", "medium", "high"}));
}

TEST_CASE("the lessons sample conforms; two industries or a loose job do not") {
  const auto& schema = k_lessons_stage.schema();
  CHECK(validate_json(schema, sample_output(3)).empty());
  auto two = sample_output(3);
  two["analogous_industries"].erase(2);
  CHECK_FALSE(validate_json(schema, two).empty());
  auto loose = sample_output(3);
  loose["jobs_to_be_done"]["functional"] = "Fresh bread, fast";
  CHECK_FALSE(validate_json(schema, loose).empty());
}

TEST_CASE("the lessons request carries the document and stages 1 and 2, not the brand") {
  auto prompt = prompts::load_prompt("lessons");
  REQUIRE(prompt);
  auto request = stages::build_request(k_lessons_stage, *prompt, sample_context(3), k_lessons_stage.default_params(), "run-model");
  REQUIRE(request);
  REQUIRE(request->schema);
  CHECK(*request->schema == k_lessons_stage.schema());
  CHECK(request->schema_name == "lessons");
  const std::string& user = request->messages.at(1).content;
  CHECK(user.find("<document title=") != std::string::npos);
  CHECK(user.find(testing::sample_document_text()) != std::string::npos);
  CHECK(user.find("<stage_output stage=\"1\" name=\"mechanisms\">") != std::string::npos);
  CHECK(user.find("<stage_output stage=\"2\" name=\"signals\">") != std::string::npos);
  CHECK(user.find("Commuters return to offices on fixed days") != std::string::npos);
  for (const auto& message : request->messages) {
    CHECK(message.content.find("Acme Foods") == std::string::npos);
    CHECK(message.content.find("<brand_profile>") == std::string::npos);
  }
}

TEST_CASE("a lessons request without stage 2's output is refused, naming it") {
  auto prompt = prompts::load_prompt("lessons");
  REQUIRE(prompt);
  auto context = sample_context(3);
  context.outputs.erase(2);
  auto request = stages::build_request(k_lessons_stage, *prompt, context, k_lessons_stage.default_params(), "run-model");
  REQUIRE_FALSE(request);
  CHECK(request.error().message.find("signals") != std::string::npos);
}

TEST_CASE("lessons renders the insight, the jobs, the constraints and the industries") {
  const auto files = k_lessons_stage.render(sample_output(3));
  REQUIRE(files.size() == 2);
  CHECK(nlohmann::json::parse(testing::rendered_file(files, "stages/03-lessons.json")) == sample_output(3));
  const std::string markdown = testing::rendered_file(files, "stages/03-lessons.md");
  CHECK(markdown.rfind("# 3. General translation: universal lessons\n", 0) == 0);
  for (const char* expected : {"> Taking the order before making a perishable product",
                               "**Functional:** I need to get a fresh daily staple",
                               "| M1 | Time | 7 minutes queuing | 20 seconds at a locker | Document |",
                               "| M3 | Effort | 5 orders a week | 1 standing order | Estimate |", "| Pharmacy |",
                               "| Dry cleaning |", "| Flower retail |", "**Rating:** High", "- Chilled ready meals"}) {
    CHECK_MESSAGE(markdown.find(expected) != std::string::npos, expected);
  }
}

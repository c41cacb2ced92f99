#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "lib/prompts/prompt_template.hpp"
#include "stages/run_factory.hpp"
#include "stages/run_files.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_registry.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline;
using testing::TempDir;

namespace {

stages::NewRunRequest new_run_request(const std::string& brand) {
  stages::NewRunRequest request;
  request.input = testing::example_pdf_path();
  request.brand = brand;
  request.settings = stages::build_settings("http://127.0.0.1:9/v1", "m", "json_schema", nlohmann::json::object(), {})
                         .value_or_throw();
  return request;
}

}  // namespace

TEST_CASE("settings start from each stage's defaults, then the config file, then --set") {
  auto defaults = stages::build_settings("u", "m", "json_schema", nlohmann::json::object(), {});
  REQUIRE(defaults);
  CHECK((*defaults)["stages"].size() == 5);
  CHECK((*defaults)["stages"]["mechanisms"]["temperature"] == stages::find_stage("1")->default_params().temperature);

  const nlohmann::json config = {{"stages", {{"signals", {{"temperature", 0.1}, {"max_tokens", 1234}}}}}};
  auto layered = stages::build_settings("u", "m", "json_schema", config,
                                        {"signals.max_tokens=999", "opportunities.model=other/model"});
  REQUIRE(layered);
  CHECK((*layered)["stages"]["signals"]["temperature"] == doctest::Approx(0.1));
  CHECK((*layered)["stages"]["signals"]["max_tokens"] == 999);
  CHECK((*layered)["stages"]["opportunities"]["model"] == "other/model");
  CHECK((*layered)["base_url"] == "u");
}

TEST_CASE("bad settings are refused with the place named") {
  auto bad_config = stages::build_settings("u", "m", "json_schema", {{"stages", {{"signals", {{"top_p", 1}}}}}}, {});
  REQUIRE_FALSE(bad_config);
  CHECK(bad_config.error().kind == util::ErrorKind::bad_input);
  CHECK(bad_config.error().message.find("stages.signals") != std::string::npos);

  for (const std::string text : {"signals", "nostage.temperature=1", "signals.temperature=7", "signals.max_tokens=abc"}) {
    auto bad = stages::build_settings("u", "m", "json_schema", nlohmann::json::object(), {text});
    REQUIRE_FALSE(bad);
    CHECK_MESSAGE(bad.error().kind == util::ErrorKind::usage, text);
    CHECK(bad.error().message.find("--set") != std::string::npos);
  }
}

TEST_CASE("a new run holds the document text, the brand snapshot and the prompts it will use, all hashed") {
  testing::RunFixture fixture;
  auto state = fixture.store->load(fixture.run_id);
  REQUIRE(state);
  std::size_t prompt_count = 0;
  for (const auto& stage : stages::all_stages()) prompt_count += stage->prompt_names().size();
  // Stage 1 also has a merge prompt and stage 5 a card prompt.
  CHECK(prompt_count == stages::all_stages().size() + 2);
  CHECK(state->files.size() == 2 + prompt_count);
  CHECK(state->status == checkpoints::RunStatus::created);
  CHECK(state->input.pages >= 2);
  CHECK(state->brand.id == "test-dairy");
  auto text = fixture.store->read_artifact(fixture.run_id, stages::k_document_path);
  REQUIRE(text);
  CHECK(text->size() > 1000);
  auto brand = fixture.store->read_artifact(fixture.run_id, stages::k_brand_path);
  REQUIRE(brand);
  CHECK(nlohmann::json::parse(*brand)["company_name"] == "Testmark Dairy Cooperative");
  for (const auto& stage : stages::all_stages()) {
    for (const auto& name : stage->prompt_names()) {
      auto prompt = fixture.store->read_artifact(fixture.run_id, stages::prompt_path(name));
      REQUIRE(prompt);
      CHECK(prompts::parse_prompt(*prompt, "snapshot"));
    }
  }
}

TEST_CASE("a run is created with a --prompts override in its snapshot") {
  TempDir dir;
  const auto brand = testing::write_test_brand(dir.path(), "test-dairy", "Testmark");
  std::filesystem::create_directories(dir / "prompts");
  std::ofstream(dir / "prompts/signals.prompt") << "### system\nBe brief.\n### user\nClassify {{mechanisms}}\n";
  auto store = checkpoints::make_file_run_store(dir / "runs");
  auto request = new_run_request(brand);
  request.prompts_dir = dir / "prompts";
  request.run_id = "override";
  auto created = stages::create_run(*store, request);
  REQUIRE(created);
  auto prompt = store->read_artifact("override", "input/prompts/signals.prompt");
  REQUIRE(prompt);
  CHECK(prompt->find("Be brief.") != std::string::npos);
}

TEST_CASE("bad input to a new run leaves no run behind") {
  TempDir dir;
  const auto brand = testing::write_test_brand(dir.path(), "test-dairy", "Testmark");
  auto store = checkpoints::make_file_run_store(dir / "runs");

  auto unknown_brand = new_run_request("no-such-brand");
  unknown_brand.brand_search_dirs = {dir.path()};
  auto refused = stages::create_run(*store, unknown_brand);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == util::ErrorKind::bad_input);

  auto missing_pdf = new_run_request(brand);
  missing_pdf.input = dir / "missing.pdf";
  CHECK(stages::create_run(*store, missing_pdf).error().kind == util::ErrorKind::bad_input);

  auto bad_id = new_run_request(brand);
  bad_id.run_id = "../escape";
  CHECK(stages::create_run(*store, bad_id).error().kind == util::ErrorKind::usage);
  CHECK(store->list().empty());

  auto first = new_run_request(brand);
  first.run_id = "taken";
  REQUIRE(stages::create_run(*store, first));  // its lock is released at once
  auto again = stages::create_run(*store, first);
  REQUIRE_FALSE(again);
  CHECK(again.error().message.find("exists already") != std::string::npos);
}

TEST_CASE("the creator holds the new run's lock until it lets go") {
  TempDir dir;
  const auto brand = testing::write_test_brand(dir.path(), "test-dairy", "Testmark");
  auto store = checkpoints::make_file_run_store(dir / "runs");
  auto request = new_run_request(brand);
  request.run_id = "held";
  auto created = stages::create_run(*store, request);
  REQUIRE(created);
  CHECK(store->lock("held").error().kind == util::ErrorKind::busy);
  created->lock.reset();
  CHECK(store->lock("held"));
}

#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "lib/llm/spend_guard.hpp"
#include "lib/util/error.hpp"
#include "service/run_settings.hpp"
#include "stages/run_factory.hpp"
#include "tests/support/process.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline;
using pipeline::testing::TempDir;

namespace {

// A run's state with the provider settings a run made earlier keeps.
checkpoints::RunState stored_run_state() {
  checkpoints::RunState state;
  state.run_id = "stored";
  state.settings = {{"base_url", "https://stored.example/v1"},
                    {"model", "stored-model"},
                    {"structured_output", "auto"},
                    {"schema_dialect", "auto"},
                    {stages::k_learned_rungs_key, {{"stored-model", "strict"}}}};
  return state;
}

}  // namespace

TEST_CASE("apply_explicit_settings replaces only the provider settings given now, and forgets learned rungs then") {
  service::RunSettings settings;
  settings.client.base_url = "https://now.example/v1";
  settings.client.model = "now-model";

  auto untouched = stored_run_state();
  service::apply_explicit_settings(settings, untouched);
  CHECK(untouched.settings.at("base_url") == "https://stored.example/v1");
  CHECK(untouched.settings.at("model") == "stored-model");
  CHECK(untouched.settings.contains(stages::k_learned_rungs_key));

  settings.given_provider_settings = {"model"};
  auto replaced = stored_run_state();
  service::apply_explicit_settings(settings, replaced);
  CHECK(replaced.settings.at("base_url") == "https://stored.example/v1");
  CHECK(replaced.settings.at("model") == "now-model");
  CHECK_FALSE(replaced.settings.contains(stages::k_learned_rungs_key));
}

TEST_CASE("a cost cap given now becomes the run's, unless it is a batch's") {
  service::RunSettings settings;
  settings.max_cost = 0.5;
  settings.client.prices = {{"stored-model", {1.0, 2.0}}};
  auto run = stored_run_state();
  service::apply_explicit_settings(settings, run);
  CHECK(run.settings.at("max_cost_usd") == 0.5);
  auto batch_run = stored_run_state();
  service::apply_explicit_settings(settings, batch_run, false);
  CHECK_FALSE(batch_run.settings.contains("max_cost_usd"));
}

TEST_CASE("run_client_config takes the run's provider settings over the settings' and guards a stored cap") {
  service::RunSettings settings;
  settings.client.base_url = "https://now.example/v1";
  settings.client.max_concurrency = 3;
  settings.client.prices = {{"stored-model", {1.0, 2.0}}};
  auto state = stored_run_state();
  state.settings["max_cost_usd"] = 1.0;
  const auto config = service::run_client_config(settings, state, std::nullopt, 0.25);
  CHECK(config.base_url == "https://stored.example/v1");
  CHECK(config.model == "stored-model");
  CHECK(config.max_concurrency == 3);
  CHECK(config.learned_rungs.count("stored-model") == 1);
  REQUIRE(config.spend_guard);

  settings.client.prices.clear();
  CHECK_THROWS_AS((void)service::run_client_config(settings, state, std::nullopt, 0), util::FatalError);
}

TEST_CASE("require_key refuses a remote provider without a key, not a local one or a replay") {
  llm::ClientConfig config;
  config.base_url = "https://openrouter.ai/api/v1";
  try {
    service::require_key(config);
    FAIL("a remote provider without a key passed");
  } catch (const util::FatalError& error) {
    CHECK(error.kind() == util::ErrorKind::provider);
  }
  config.replay_dir = "recordings";
  CHECK_NOTHROW(service::require_key(config));
  config.replay_dir.clear();
  config.base_url = "http://127.0.0.1:11434/v1";
  CHECK_NOTHROW(service::require_key(config));
}

TEST_CASE("new_run_settings keeps the provider settings and per-stage overrides") {
  service::RunSettings settings;
  settings.client.base_url = "https://now.example/v1";
  settings.client.model = "now-model";
  settings.client.schema_dialect = "openai";
  settings.structured_output = "strict";
  service::RunSetup setup;
  setup.overrides = {"opportunities.max_tokens=8000"};
  const auto run_settings = service::new_run_settings(settings, setup);
  CHECK(run_settings.at("base_url") == "https://now.example/v1");
  CHECK(run_settings.at("model") == "now-model");
  CHECK(run_settings.at("structured_output") == "strict");
  CHECK(run_settings.at("schema_dialect") == "openai");
  CHECK(run_settings.dump().find("8000") != std::string::npos);
  CHECK_FALSE(run_settings.contains("max_cost_usd"));
}

TEST_CASE("the store's place for messages masks a Redis password; a folder is itself") {
  CHECK(service::is_folder_store("./runs"));
  CHECK(service::is_folder_store("file:/tmp/runs"));
  CHECK_FALSE(service::is_folder_store("redis://127.0.0.1:6379/0"));
  const auto place = service::store_place("redis://default:hunter2@127.0.0.1:6379/0");
  CHECK(place.find("hunter2") == std::string::npos);
  CHECK(service::store_place("./runs") == "./runs");
}

TEST_CASE("a brand id is found in the first folder before the store's brands, and a path as a file") {
  TempDir dir;
  service::RunSettings settings;
  settings.store_url = dir / "runs";
  const auto store = service::open_store(settings);
  const auto first = dir / "first";
  std::filesystem::create_directories(first);
  testing::write_test_brand(first, "acme-test", "Acme From The Folder");
  const service::BrandSearch search{first, {first}};
  const auto found = service::resolve_run_brand(search, settings.store_url, *store, "acme-test");
  CHECK(found.company_name == "Acme From The Folder");
  const auto path = testing::write_test_brand(dir.path(), "elsewhere", "Elsewhere Co");
  CHECK(service::resolve_run_brand(search, settings.store_url, *store, path).company_name == "Elsewhere Co");
  CHECK_THROWS_AS((void)service::resolve_run_brand(search, settings.store_url, *store, "no-such-brand"),
                  util::FatalError);
}

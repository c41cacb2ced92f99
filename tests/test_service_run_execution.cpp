#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "lib/util/error.hpp"
#include "service/run_execution.hpp"
#include "service/run_webhooks.hpp"
#include "tests/fake_server/fake_llm_server.hpp"
#include "tests/support/cli_env.hpp"
#include "tests/support/process.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline;
using pipeline::testing::FakeLlmServer;
using pipeline::testing::TempDir;

namespace {

// Settings as a command would resolve them: the fake model server, a folder
// store and a brand folder in `dir`, no stage cache.
service::RunSettings execution_test_settings(const FakeLlmServer& server, const TempDir& dir) {
  service::RunSettings settings;
  settings.client.base_url = server.base_url();
  settings.client.model = "test-model";
  settings.client.max_retries = 0;
  settings.store_url = dir / "runs";
  settings.cache_enabled = false;
  settings.brands.dirs = {dir / "brands"};
  return settings;
}

service::NewRunOptions execution_test_run(const TempDir& dir) {
  service::NewRunOptions run;
  run.input = testing::example_pdf_path();
  run.brand = testing::write_test_brand(dir.path(), "test-brand", "Test Brand Co");
  run.run_id = "service-run";
  return run;
}

}  // namespace

TEST_CASE("create and execute do all five stages through the model and write both reports") {
  FakeLlmServer server;
  TempDir dir;
  const auto settings = execution_test_settings(server, dir);
  auto store = service::open_store(settings);
  auto created = service::create(settings, execution_test_run(dir), *store);
  CHECK(created.state.settings.at("base_url") == server.base_url());
  CHECK(server.request_count() == 0);

  std::vector<std::string> events;
  service::ExecutionControl control;
  control.observer = [&](const nlohmann::json& event) { events.push_back(event.value("event", "")); };
  const auto done = service::execute(settings, *store, "service-run", std::nullopt, 0, stages::Chain::remaining_stages,
                                     std::move(created.lock), std::move(created.state), std::nullopt, control);
  CHECK(done.ran);
  CHECK(done.state.status == checkpoints::RunStatus::completed);
  CHECK(server.request_count() == testing::k_requests_per_run);
  CHECK(store->read_artifact("service-run", "report.md"));
  const auto html = store->read_artifact("service-run", "report.html");
  REQUIRE(html);
  CHECK(html->find("Test Brand Co") != std::string::npos);
  REQUIRE_FALSE(events.empty());
  CHECK(events.front() == "run_started");
  CHECK(events.back() == "run_finished");
}

TEST_CASE("a completed run has nothing to do: no model call, and a webhook URL given now is kept") {
  FakeLlmServer server;
  TempDir dir;
  const auto settings = execution_test_settings(server, dir);
  auto store = service::open_store(settings);
  auto created = service::create(settings, execution_test_run(dir), *store);
  (void)service::execute(settings, *store, "service-run", std::nullopt, 0, stages::Chain::remaining_stages,
                         std::move(created.lock), std::move(created.state));
  const int asked = server.request_count();

  const auto again = service::execute(settings, *store, "service-run", std::nullopt, 0, stages::Chain::remaining_stages,
                                      nullptr, std::nullopt, std::string("https://hooks.example.com/pipeline"));
  CHECK_FALSE(again.ran);
  CHECK(server.request_count() == asked);
  const auto reloaded = store->load("service-run");
  REQUIRE(reloaded);
  CHECK(service::notify_url(reloaded->settings) == "https://hooks.example.com/pipeline");
}

TEST_CASE("a stage the model fails stops execute with the error's kind, the run saved and how to resume it") {
  FakeLlmServer server;
  TempDir dir;
  const auto settings = execution_test_settings(server, dir);
  auto store = service::open_store(settings);
  auto created = service::create(settings, execution_test_run(dir), *store);
  testing::ScriptedReply unavailable;
  unavailable.fault = testing::FaultKind::http_status;
  unavailable.status = 503;
  server.enqueue(unavailable);
  try {
    (void)service::execute(settings, *store, "service-run", std::nullopt, 0, stages::Chain::remaining_stages,
                           std::move(created.lock), std::move(created.state));
    FAIL("execute returned");
  } catch (const util::FatalError& error) {
    CHECK(error.kind() == util::ErrorKind::transient);
    CHECK(std::string(error.what()).find("resume with `pipeline resume service-run`") != std::string::npos);
  }
  const auto saved = store->load("service-run");
  REQUIRE(saved);
  CHECK(saved->status == checkpoints::RunStatus::incomplete);
  CHECK(saved->stage(1).status != checkpoints::StageStatus::done);
}

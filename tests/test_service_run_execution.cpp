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
#include "tests/support/service_settings.hpp"

using namespace pipeline;
using pipeline::testing::FakeLlmServer;
using pipeline::testing::TempDir;

namespace {

// A folder store with one run just made (its lock held) for a test brand,
// and the settings of the fake model server.
struct CreatedRun {
  FakeLlmServer server;
  TempDir dir;
  service::RunSettings settings;
  std::unique_ptr<checkpoints::RunStore> store;
  stages::NewRun created;

  CreatedRun() {
    settings = testing::fake_model_settings(server, dir / "runs");
    settings.brands.dirs = {dir / "brands"};
    store = service::open_store(settings);
    service::NewRunOptions run;
    run.input = testing::example_pdf_path();
    run.brand = testing::write_test_brand(dir.path(), "test-brand", "Test Brand Co");
    run.run_id = "service-run";
    created = service::create(settings, run, *store);
  }

  // Runs the remaining stages of the new run, as `pipeline run` does.
  service::Execution execute_created(const service::ExecutionControl& control = {}) {
    return service::execute(settings, *store, "service-run", std::nullopt, 0, stages::Chain::remaining_stages,
                            std::move(created.lock), std::move(created.state), std::nullopt, control);
  }
};

}  // namespace

TEST_CASE("create and execute do all five stages through the model and write both reports") {
  CreatedRun run;
  CHECK(run.created.state.settings.at("base_url") == run.server.base_url());
  CHECK(run.server.request_count() == 0);

  std::vector<std::string> events;
  service::ExecutionControl control;
  control.observer = [&](const nlohmann::json& event) { events.push_back(event.value("event", "")); };
  const auto done = run.execute_created(control);
  CHECK(done.ran);
  CHECK(done.state.status == checkpoints::RunStatus::completed);
  CHECK(run.server.request_count() == testing::k_requests_per_run);
  CHECK(run.store->read_artifact("service-run", "report.md"));
  const auto html = run.store->read_artifact("service-run", "report.html");
  REQUIRE(html);
  CHECK(html->find("Test Brand Co") != std::string::npos);
  REQUIRE_FALSE(events.empty());
  CHECK(events.front() == "run_started");
  CHECK(events.back() == "run_finished");
}

TEST_CASE("a completed run has nothing to do: no model call, and a webhook URL given now is kept") {
  CreatedRun run;
  (void)run.execute_created();
  const int asked = run.server.request_count();

  const auto again = service::execute(run.settings, *run.store, "service-run", std::nullopt, 0,
                                      stages::Chain::remaining_stages, nullptr, std::nullopt,
                                      std::string("https://hooks.example.com/pipeline"));
  CHECK_FALSE(again.ran);
  CHECK(run.server.request_count() == asked);
  const auto reloaded = run.store->load("service-run");
  REQUIRE(reloaded);
  CHECK(service::notify_url(reloaded->settings) == "https://hooks.example.com/pipeline");
}

TEST_CASE("a stage the model fails stops execute with the error's kind, the run saved and how to resume it") {
  CreatedRun run;
  testing::ScriptedReply unavailable;
  unavailable.fault = testing::FaultKind::http_status;
  unavailable.status = 503;
  run.server.enqueue(unavailable);
  try {
    (void)run.execute_created();
    FAIL("execute returned");
  } catch (const util::FatalError& error) {
    CHECK(error.kind() == util::ErrorKind::transient);
    CHECK(std::string(error.what()).find("resume with `pipeline resume service-run`") != std::string::npos);
  }
  const auto saved = run.store->load("service-run");
  REQUIRE(saved);
  CHECK(saved->status == checkpoints::RunStatus::incomplete);
  CHECK(saved->stage(1).status != checkpoints::StageStatus::done);
}

#include <doctest/doctest.h>

#include <mutex>
#include <string>
#include <vector>

#include "checkpoints/redis_run_store.hpp"
#include "lib/util/error.hpp"
#include "service/queue_connection.hpp"
#include "service/run_execution.hpp"
#include "service/worker_loop.hpp"
#include "tests/fake_server/fake_llm_server.hpp"
#include "tests/support/cli_env.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/run_fixture.hpp"
#include "tests/support/service_settings.hpp"

using namespace pipeline;
using pipeline::testing::FakeLlmServer;
using pipeline::testing::RedisServer;
using pipeline::testing::TempDir;

namespace {

// A Redis store with one run made and queued, and settings that reach the
// fake model server, as `pipeline submit` leaves them for a worker.
struct QueuedRun {
  FakeLlmServer model;
  RedisServer redis;
  TempDir dir;
  service::RunSettings settings;
  std::string run_id = "queued-run";

  QueuedRun() {
    settings = testing::fake_model_settings(model, redis.url());
    auto store = redis_store();
    service::NewRunOptions run;
    run.input = testing::example_pdf_path();
    run.brand = testing::write_test_brand(dir.path(), "queued-brand", "Queued Brand Co");
    run.run_id = run_id;
    (void)service::create(settings, run, *store);
    queue::Job job;
    job.job_id = run_id;
    job.run_id = run_id;
    REQUIRE(service::open_job_queue(*store, "test")->enqueue(job));
  }

  std::unique_ptr<checkpoints::RedisRunStore> redis_store() const {
    auto store = service::open_store(settings);
    auto* redis_store = dynamic_cast<checkpoints::RedisRunStore*>(store.get());
    REQUIRE(redis_store);
    store.release();
    return std::unique_ptr<checkpoints::RedisRunStore>(redis_store);
  }

  // Runs a worker with --once; returns its exit code, its lines in `lines`.
  int work_once(std::vector<std::string>& lines) {
    service::WorkerOptions options;
    options.once = true;
    options.lease = std::chrono::milliseconds(3000);
    std::mutex mutex;
    options.log = [&](const std::string& line) {
      std::lock_guard lock(mutex);
      lines.push_back(line);
    };
    return service::run_worker(settings, redis_store(), options);
  }

  queue::Job job() const {
    auto found = service::open_job_queue(*redis_store(), "test")->find(run_id);
    REQUIRE(found);
    REQUIRE(found->has_value());
    return **found;
  }

  std::string status_field(const std::string& field) const {
    return redis.command({"HGET", "pipeline:status:" + run_id, field}).text;
  }

  // The model answers the next request with this HTTP status.
  void fail_next_request(int status) {
    testing::ScriptedReply reply;
    reply.fault = testing::FaultKind::http_status;
    reply.status = status;
    model.enqueue(reply);
  }
};

bool has_line(const std::vector<std::string>& lines, const std::string& text) {
  for (const auto& line : lines)
    if (line.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("a worker with once takes the queued job, runs all five stages and marks job and status done") {
  QueuedRun queued;
  std::vector<std::string> lines;
  CHECK(queued.work_once(lines) == 0);
  CHECK(queued.model.request_count() == testing::k_requests_per_run);
  const auto state = queued.redis_store()->load(queued.run_id);
  REQUIRE(state);
  CHECK(state->status == checkpoints::RunStatus::completed);
  CHECK(queued.redis_store()->read_artifact(queued.run_id, "report.html"));
  CHECK(queued.job().state == queue::JobState::done);
  CHECK(queued.status_field("status") == "completed");
  CHECK(queued.status_field("stages_done") == "5");
  CHECK(has_line(lines, "job queued-run done"));
}

TEST_CASE("a transient failure puts the job back for a later retry, and once exits as unfinished") {
  QueuedRun queued;
  queued.fail_next_request(503);
  std::vector<std::string> lines;
  CHECK(queued.work_once(lines) == util::exit_code(util::ErrorKind::deadline));
  CHECK(queued.status_field("status") == "retrying");
  CHECK(queued.job().state != queue::JobState::failed);
  CHECK(queued.job().attempts == 1);
  CHECK(has_line(lines, "retried in"));
}

TEST_CASE("a job whose run cannot go on is marked failed with the reason, and the worker stays well") {
  QueuedRun queued;
  queued.fail_next_request(401);
  std::vector<std::string> lines;
  CHECK(queued.work_once(lines) == 0);
  CHECK(queued.job().state == queue::JobState::failed);
  CHECK_FALSE(queued.job().error.empty());
  CHECK(queued.status_field("status") == "failed");
  CHECK(has_line(lines, "job queued-run failed"));
}

TEST_CASE("a lease shorter than a second is refused before any job is taken") {
  QueuedRun queued;
  service::WorkerOptions options;
  options.once = true;
  options.lease = std::chrono::milliseconds(500);
  CHECK_THROWS_AS(service::run_worker(queued.settings, queued.redis_store(), options), util::FatalError);
  CHECK(queued.job().state == queue::JobState::queued);
  CHECK(queued.model.request_count() == 0);
}

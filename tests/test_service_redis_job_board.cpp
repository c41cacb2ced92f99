#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "checkpoints/redis_run_store.hpp"
#include "lib/util/error.hpp"
#include "service/queue_connection.hpp"
#include "service/redis_job_board.hpp"
#include "tests/support/redis_server.hpp"

using pipeline::queue::Delivery;
using pipeline::queue::Job;
using pipeline::queue::JobState;
using pipeline::queue::Priority;
using pipeline::service::RedisJobBoard;
using pipeline::testing::RedisServer;
using pipeline::util::ErrorKind;

namespace {

// A real redis-server, a store on it, the board serve uses and a worker's
// side of the same queue.
struct RedisBoardWorld {
  RedisServer server;
  std::unique_ptr<pipeline::checkpoints::RedisRunStore> store;
  std::unique_ptr<RedisJobBoard> board;
  std::unique_ptr<pipeline::queue::JobQueue> worker;

  RedisBoardWorld() {
    pipeline::checkpoints::RedisStoreOptions options;
    options.connect = server.connect_options();
    store = pipeline::checkpoints::make_redis_run_store(options);
    board = std::make_unique<RedisJobBoard>(*store);
    worker = pipeline::service::open_job_queue(*store, "test-worker");
  }

  void enqueue(const std::string& id, Priority priority = Priority::normal) {
    Job job;
    job.job_id = id;
    job.run_id = id;
    job.priority = priority;
    auto queued = board->enqueue(job);
    REQUIRE_MESSAGE(queued.has_value(), queued.error().message);
  }

  Job find(const std::string& id) {
    auto found = board->find(id);
    REQUIRE_MESSAGE(found.has_value(), found.error().message);
    REQUIRE(found->has_value());
    return **found;
  }

  // The next job a worker takes, marked running as a worker marks it;
  // fails the test when there is none.
  Delivery take() {
    auto taken = worker->take(std::chrono::milliseconds(0), std::nullopt);
    REQUIRE_MESSAGE(taken.has_value(), taken.error().message);
    REQUIRE(taken->has_value());
    REQUIRE(worker->update((*taken)->job.job_id, {{"state", "running"}}).has_value());
    return **taken;
  }

  bool nothing_to_take() {
    auto taken = worker->take(std::chrono::milliseconds(0), std::nullopt);
    REQUIRE_MESSAGE(taken.has_value(), taken.error().message);
    return !taken->has_value();
  }

  // Takes the job and records how it ended, as a worker does.
  void run_to(const std::string& id, JobState state, const std::string& error = "") {
    const Delivery delivery = take();
    REQUIRE(delivery.job.job_id == id);
    REQUIRE(worker->finish(delivery, state, error).has_value());
  }

  std::string status(const std::string& id) { return server.command({"HGET", "pipeline:status:" + id, "status"}).text; }
};

void redis_board_expect_refusal(const pipeline::util::Expected<Job>& result, const std::string& fragment) {
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::bad_input);
  CHECK_MESSAGE(result.error().message.find(fragment) != std::string::npos, result.error().message);
}

}  // namespace

TEST_CASE("the Redis board queues a run once while its job lives, and again once it is over") {
  RedisBoardWorld world;
  world.enqueue("run-1", Priority::high);
  const Job queued = world.find("run-1");
  CHECK(queued.state == JobState::queued);
  CHECK(queued.priority == Priority::high);
  CHECK(world.status("run-1") == "queued");

  Job again;
  again.job_id = "run-1";
  again.run_id = "run-1";
  auto twice = world.board->enqueue(again);
  REQUIRE_FALSE(twice.has_value());
  CHECK(twice.error().kind == ErrorKind::bad_input);
  CHECK(twice.error().message.find("queued") != std::string::npos);

  const Delivery delivery = world.take();
  CHECK(delivery.job.job_id == "run-1");
  auto while_running = world.board->enqueue(again);
  REQUIRE_FALSE(while_running.has_value());
  CHECK(while_running.error().message.find("running") != std::string::npos);

  REQUIRE(world.worker->finish(delivery, JobState::failed, "stage 2 failed").has_value());
  (void)world.worker->update_status("run-1", {{"status", "failed"}, {"error", "stage 2 failed"}});
  world.enqueue("run-1");
  CHECK(world.find("run-1").state == JobState::queued);
  CHECK(world.status("run-1") == "queued");
  CHECK(world.server.command({"HGET", "pipeline:status:run-1", "error"}).text.empty());
  // One entry to take, not two.
  CHECK(world.take().job.job_id == "run-1");
  CHECK(world.nothing_to_take());

  auto missing = world.board->find("no-such-run");
  REQUIRE(missing.has_value());
  CHECK_FALSE(missing->has_value());
}

TEST_CASE("the Redis board cancels queued and running jobs, not ones that are over") {
  RedisBoardWorld world;
  world.enqueue("running-run", Priority::high);
  world.enqueue("waiting-run");
  CHECK(world.take().job.job_id == "running-run");

  auto waiting = world.board->cancel("waiting-run");
  REQUIRE_MESSAGE(waiting.has_value(), waiting.error().message);
  CHECK(waiting->state == JobState::cancelled);
  CHECK(world.find("waiting-run").state == JobState::cancelled);
  // A cancelled job is not handed to a worker.
  CHECK(world.nothing_to_take());

  auto running = world.board->cancel("running-run");
  REQUIRE_MESSAGE(running.has_value(), running.error().message);
  CHECK(world.find("running-run").state == JobState::cancelled);

  redis_board_expect_refusal(world.board->cancel("no-such-run"), "no-such-run");
  world.enqueue("done-run");
  world.enqueue("failed-run");
  world.enqueue("dead-run");
  world.run_to("done-run", JobState::done);
  world.run_to("failed-run", JobState::failed, "the PDF has no text");
  world.run_to("dead-run", JobState::dead, "its workers died");
  redis_board_expect_refusal(world.board->cancel("done-run"), "done");
  redis_board_expect_refusal(world.board->cancel("failed-run"), "failed");
  redis_board_expect_refusal(world.board->cancel("dead-run"), "dead");
  redis_board_expect_refusal(world.board->cancel("waiting-run"), "cancelled");
  CHECK(world.find("failed-run").state == JobState::failed);
  CHECK(world.find("failed-run").error == "the PDF has no text");
  CHECK(world.find("dead-run").state == JobState::dead);
}

TEST_CASE("the Redis board retries failed and cancelled jobs, and done ones only to redo stages") {
  RedisBoardWorld world;
  world.enqueue("done-run");
  world.enqueue("failed-run");
  world.enqueue("cancelled-run");
  world.enqueue("running-run");
  world.enqueue("queued-run", Priority::low);
  world.run_to("done-run", JobState::done);
  world.run_to("failed-run", JobState::failed, "stage 3 failed");
  REQUIRE(world.board->cancel("cancelled-run").has_value());
  // A worker takes running-run: the cancelled job's entry is skipped on the way.
  CHECK(world.take().job.job_id == "running-run");

  redis_board_expect_refusal(world.board->retry("running-run", 0), "running");
  redis_board_expect_refusal(world.board->retry("queued-run", 0), "queued");
  redis_board_expect_refusal(world.board->retry("queued-run", 2), "queued");
  redis_board_expect_refusal(world.board->retry("done-run", 0), "done");
  redis_board_expect_refusal(world.board->retry("no-such-run", 1), "no-such-run");

  auto failed = world.board->retry("failed-run", 0);
  REQUIRE_MESSAGE(failed.has_value(), failed.error().message);
  CHECK(failed->state == JobState::queued);
  CHECK(failed->error.empty());
  CHECK(world.find("failed-run").state == JobState::queued);
  CHECK(world.status("failed-run") == "queued");

  auto cancelled = world.board->retry("cancelled-run", 0);
  REQUIRE_MESSAGE(cancelled.has_value(), cancelled.error().message);
  CHECK(world.find("cancelled-run").state == JobState::queued);

  auto redo = world.board->retry("done-run", 4);
  REQUIRE_MESSAGE(redo.has_value(), redo.error().message);
  CHECK(redo->redo_from == 4);
  CHECK(world.find("done-run").state == JobState::queued);
  CHECK(world.find("done-run").redo_from == 4);
  CHECK(world.status("done-run") == "queued");

  // The worker gets them again, the redo with it; the low job last.
  std::vector<std::string> taken;
  for (int i = 0; i < 4; ++i) {
    const Delivery delivery = world.take();
    if (delivery.job.job_id == "done-run") CHECK(delivery.job.redo_from == 4);
    taken.push_back(delivery.job.job_id);
  }
  CHECK(taken == std::vector<std::string>{"failed-run", "cancelled-run", "done-run", "queued-run"});
  CHECK(world.nothing_to_take());
}

TEST_CASE("the Redis board lists every job oldest first and counts the queue") {
  RedisBoardWorld world;
  // The index counts age in milliseconds: a few between the jobs so that
  // their names, in another order, do not decide.
  for (const auto& [id, priority] : std::vector<std::pair<std::string, Priority>>{
           {"first-run", Priority::low}, {"second-run", Priority::normal},
           {"third-run", Priority::high}, {"fourth-run", Priority::high}}) {
    world.enqueue(id, priority);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto jobs = world.board->list();
  REQUIRE_MESSAGE(jobs.has_value(), jobs.error().message);
  std::vector<std::string> ids;
  for (const auto& job : *jobs) ids.push_back(job.job_id);
  CHECK(ids == std::vector<std::string>{"first-run", "second-run", "third-run", "fourth-run"});

  CHECK(world.take().job.job_id == "third-run");
  auto counts = world.board->counts();
  REQUIRE_MESSAGE(counts.has_value(), counts.error().message);
  CHECK(counts->queued.at(Priority::high) == 1);
  CHECK(counts->queued.at(Priority::normal) == 1);
  CHECK(counts->queued.at(Priority::low) == 1);
  CHECK(counts->in_flight == 1);
  CHECK(counts->dead == 0);
}

TEST_CASE("the Redis board cannot be made without its server") {
  auto server = std::make_unique<RedisServer>();
  pipeline::checkpoints::RedisStoreOptions options;
  options.connect = server->connect_options();
  auto store = pipeline::checkpoints::make_redis_run_store(options);
  server->kill();
  CHECK_THROWS_AS(RedisJobBoard{*store}, pipeline::util::FatalError);
}

#include <doctest/doctest.h>

#include "checkpoints/open_run_store.hpp"
#include "checkpoints/redis_run_store.hpp"
#include "service/queue_connection.hpp"
#include "tests/support/redis_server.hpp"

using namespace pipeline;
using pipeline::testing::RedisServer;

TEST_CASE("open_job_queue makes the queue's groups on a connection of its own, so a job goes in and comes out") {
  RedisServer redis;
  auto store = checkpoints::open_run_store(redis.url(), {}).value_or_throw();
  auto* redis_store = dynamic_cast<checkpoints::RedisRunStore*>(store.get());
  REQUIRE(redis_store);
  auto jobs = service::open_job_queue(*redis_store, "connection-test");
  queue::Job job;
  job.job_id = "r1";
  job.run_id = "r1";
  REQUIRE(jobs->enqueue(job));
  auto taken = jobs->take(std::chrono::milliseconds(0), std::nullopt);
  REQUIRE(taken);
  REQUIRE(taken->has_value());
  CHECK((*taken)->job.run_id == "r1");
  // A second opening finds the groups made and changes nothing.
  CHECK(service::open_job_queue(*redis_store, "connection-test")->find("r1").value_or_throw().has_value());
}

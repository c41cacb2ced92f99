#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <vector>
#include <string>
#include <thread>

#include "lib/queue/job_queue.hpp"
#include "tests/support/redis_server.hpp"

using namespace pipeline::queue;
using pipeline::testing::RedisServer;
using std::chrono::milliseconds;

namespace {

JobQueue open_test_queue(const RedisServer& server, const std::string& consumer) {
  JobQueue job_queue(server.connect(), "pipeline:", consumer);
  REQUIRE(job_queue.ensure_groups().has_value());
  return job_queue;
}

Job queue_test_job(const std::string& run_id, Priority priority = Priority::normal) {
  Job job;
  job.job_id = run_id;
  job.run_id = run_id;
  job.priority = priority;
  return job;
}

Delivery take_now(JobQueue& job_queue, std::optional<milliseconds> reclaim = std::nullopt) {
  auto taken = job_queue.take(milliseconds(0), reclaim);
  REQUIRE_MESSAGE(taken.has_value(), taken.error().message);
  REQUIRE(taken->has_value());
  return **taken;
}

bool queue_is_empty(JobQueue& job_queue, std::optional<milliseconds> reclaim = std::nullopt) {
  auto taken = job_queue.take(milliseconds(0), reclaim);
  REQUIRE_MESSAGE(taken.has_value(), taken.error().message);
  return !taken->has_value();
}

}  // namespace

TEST_CASE("workers take high jobs before normal before low, each job once") {
  RedisServer server;
  auto a = open_test_queue(server, "a");
  auto b = open_test_queue(server, "b");
  REQUIRE(a.enqueue(queue_test_job("low-1", Priority::low)).has_value());
  REQUIRE(a.enqueue(queue_test_job("normal-1")).has_value());
  REQUIRE(a.enqueue(queue_test_job("high-1", Priority::high)).has_value());
  REQUIRE(a.enqueue(queue_test_job("normal-2")).has_value());
  const auto counts = a.counts();
  REQUIRE(counts.has_value());
  CHECK(counts->queued.at(Priority::normal) == 2);
  CHECK(counts->queued.at(Priority::high) == 1);
  CHECK(counts->oldest_queued_age_s.has_value());

  CHECK(take_now(b).job.job_id == "high-1");
  CHECK(take_now(a).job.job_id == "normal-1");
  CHECK(take_now(b).job.job_id == "normal-2");
  const auto last = take_now(a);
  CHECK(last.job.job_id == "low-1");
  CHECK(queue_is_empty(b));
  const auto in_flight = a.counts();
  REQUIRE(in_flight.has_value());
  CHECK(in_flight->in_flight == 4);
  CHECK(in_flight->queued.at(Priority::low) == 0);

  REQUIRE(a.finish(last, JobState::done, "").has_value());
  const auto done = a.find("low-1");
  REQUIRE(done.has_value());
  REQUIRE(done->has_value());
  CHECK((*done)->state == JobState::done);
  CHECK(a.counts()->in_flight == 3);
}

TEST_CASE("a blocked take wakes for a job added meanwhile") {
  RedisServer server;
  auto worker = open_test_queue(server, "w");
  std::thread producer([&server] {
    std::this_thread::sleep_for(milliseconds(300));
    auto other = open_test_queue(server, "producer");
    REQUIRE(other.enqueue(queue_test_job("late")).has_value());
  });
  const auto start = std::chrono::steady_clock::now();
  auto taken = worker.take(milliseconds(5000), std::nullopt);
  producer.join();
  REQUIRE(taken.has_value());
  REQUIRE(taken->has_value());
  CHECK((*taken)->job.job_id == "late");
  CHECK(std::chrono::steady_clock::now() - start < milliseconds(4000));
}

TEST_CASE("a job one XADD enqueued gets its hash from the entry") {
  RedisServer server;
  auto worker = open_test_queue(server, "w");
  server.command({"XADD", "pipeline:jobs:normal", "*", "kind", "source", "source", "https://example.com/a.pdf", "brand",
                  "acme", "run_id", "web-1"});
  const auto delivery = take_now(worker);
  CHECK(delivery.job.kind == JobKind::source);
  CHECK(delivery.job.brand == "acme");
  const auto stored = worker.find("web-1");
  REQUIRE(stored.has_value());
  REQUIRE(stored->has_value());
  CHECK((*stored)->source == "https://example.com/a.pdf");
  REQUIRE(worker.list().has_value());
  CHECK(worker.list()->size() == 1);
}

TEST_CASE("an entry idle past the lease is taken over; the third death sends the job to the dead letters") {
  RedisServer server;
  auto first = open_test_queue(server, "first");
  REQUIRE(first.enqueue(queue_test_job("doomed")).has_value());
  auto delivery = take_now(first);
  CHECK_FALSE(delivery.reclaimed);
  const milliseconds lease(200);
  // A live worker that touches its entry keeps it.
  auto second = open_test_queue(server, "second");
  std::this_thread::sleep_for(milliseconds(150));
  REQUIRE(first.touch(delivery).value());
  std::this_thread::sleep_for(milliseconds(100));
  CHECK(queue_is_empty(second, lease));

  for (int death = 1; death <= 2; ++death) {
    std::this_thread::sleep_for(milliseconds(300));
    auto& taker = death == 1 ? second : first;
    auto& loser = death == 1 ? first : second;
    const auto reclaimed = take_now(taker, lease);
    CAPTURE(death);
    CHECK(reclaimed.reclaimed);
    CHECK(reclaimed.job.deaths == death);
    // The worker it was taken from cannot take it back.
    CHECK_FALSE(loser.touch(reclaimed).value());
  }
  std::this_thread::sleep_for(milliseconds(300));
  CHECK(queue_is_empty(second, lease));
  const auto dead = second.find("doomed");
  REQUIRE(dead->has_value());
  CHECK((*dead)->state == JobState::dead);
  CHECK((*dead)->error.find("died 3 times") != std::string::npos);
  CHECK(second.counts()->dead == 1);
  CHECK(second.counts()->in_flight == 0);

  auto retried = second.retry("doomed");
  REQUIRE_MESSAGE(retried.has_value(), retried.error().message);
  CHECK(second.counts()->dead == 0);
  const auto again = take_now(first);
  CHECK(again.job.deaths == 0);
  CHECK(again.job.job_id == "doomed");
}

TEST_CASE("a finished stage resets the deaths, so only deaths without progress count") {
  RedisServer server;
  auto a = open_test_queue(server, "a");
  auto b = open_test_queue(server, "b");
  REQUIRE(a.enqueue(queue_test_job("slow")).has_value());
  (void)take_now(a);
  const milliseconds lease(100);
  for (int round = 0; round < 4; ++round) {
    std::this_thread::sleep_for(milliseconds(200));
    auto& taker = round % 2 == 0 ? b : a;
    const auto reclaimed = take_now(taker, lease);
    CHECK(reclaimed.job.deaths == 1);
    REQUIRE(taker.update("slow", {{"deaths", "0"}}).has_value());
  }
}

TEST_CASE("a transient failure comes back when its delay is over; a release comes back at once") {
  RedisServer server;
  auto worker = open_test_queue(server, "w");
  REQUIRE(worker.enqueue(queue_test_job("flaky")).has_value());
  const auto delivery = take_now(worker);
  REQUIRE(worker.retry_later(delivery, milliseconds(400), "HTTP 503").has_value());
  CHECK(worker.counts()->delayed == 1);
  // Due retries move back when a worker looks for dead workers' jobs too.
  const milliseconds reclaim(60000);
  CHECK(queue_is_empty(worker, reclaim));
  std::this_thread::sleep_for(milliseconds(500));
  CHECK(queue_is_empty(worker));
  const auto back = take_now(worker, reclaim);
  CHECK(back.job.job_id == "flaky");
  CHECK(back.job.error == "HTTP 503");
  REQUIRE(worker.release(back).has_value());
  CHECK(take_now(worker).job.job_id == "flaky");
}

TEST_CASE("a cancelled job is dropped by the worker that reads it; cancel and retry refuse what they cannot do") {
  RedisServer server;
  auto worker = open_test_queue(server, "w");
  REQUIRE(worker.enqueue(queue_test_job("unwanted")).has_value());
  REQUIRE(worker.enqueue(queue_test_job("wanted")).has_value());
  REQUIRE(worker.cancel("unwanted").has_value());
  CHECK(take_now(worker).job.job_id == "wanted");
  CHECK(queue_is_empty(worker));
  CHECK_FALSE(worker.cancel("nothing-here").has_value());
  CHECK_FALSE(worker.retry("wanted").has_value());  // not failed
  REQUIRE(worker.retry("unwanted").has_value());
  CHECK(take_now(worker).job.job_id == "unwanted");
}

TEST_CASE("live workers are counted by their keys, which lapse with their TTL") {
  RedisServer server;
  auto a = open_test_queue(server, "a");
  auto b = open_test_queue(server, "b");
  REQUIRE(a.register_worker("{}", milliseconds(10000)).has_value());
  REQUIRE(b.register_worker("{}", milliseconds(200)).has_value());
  CHECK(a.counts()->live_workers == 2);
  std::this_thread::sleep_for(milliseconds(400));
  CHECK(a.counts()->live_workers == 1);
  REQUIRE(a.unregister_worker().has_value());
  CHECK(a.counts()->live_workers == 0);
}

TEST_CASE("the status hash holds what was set, with updated_at") {
  RedisServer server;
  auto worker = open_test_queue(server, "w");
  REQUIRE(worker.update_status("r1", {{"status", "running"}, {"stage", "signals"}}).has_value());
  const auto reply = server.command({"HGETALL", "pipeline:status:r1"});
  std::map<std::string, std::string> fields;
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) fields[reply.elements[i].text] = reply.elements[i + 1].text;
  CHECK(fields.at("status") == "running");
  CHECK(fields.at("stage") == "signals");
  CHECK(fields.count("updated_at") == 1);
}

TEST_CASE("two entries for one id: the first makes the job, the second is refused under an id of its own") {
  RedisServer server;
  auto a = open_test_queue(server, "a");
  auto b = open_test_queue(server, "b");
  std::vector<Job> refused;
  b.on_refused([&](const Job& record) { refused.push_back(record); });
  const auto first = server.command({"XADD", "pipeline:jobs:normal", "*", "kind", "run", "run_id", "twice"});
  const auto second = server.command({"XADD", "pipeline:jobs:normal", "*", "kind", "run", "run_id", "twice"});
  const auto delivery = take_now(a);
  CHECK(delivery.entry_id == first.text);
  CHECK(queue_is_empty(b));
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].job_id == "entry-normal-" + second.text);
  CHECK(refused[0].error.find("job twice is queued already") != std::string::npos);
  // The job keeps its own entry and outcome.
  REQUIRE(a.finish(delivery, JobState::done, "").has_value());
  CHECK(a.find("twice")->value().state == JobState::done);
  CHECK(a.find("twice")->value().entry == first.text);
  const auto listed = a.list();
  REQUIRE(listed.has_value());
  REQUIRE(listed->size() == 2);
  CHECK(a.find(refused[0].job_id)->value().state == JobState::failed);
  // An entry for a job that is done is refused as visibly, never acknowledged in silence.
  server.command({"XADD", "pipeline:jobs:high", "*", "run_id", "twice"});
  CHECK(queue_is_empty(b));
  REQUIRE(refused.size() == 2);
  CHECK(refused[1].error.find("job twice is done already") != std::string::npos);
  CHECK(a.list()->size() == 3);
  CHECK(a.counts()->in_flight == 0);
}

TEST_CASE("a source entry for a run that exists is refused; the run and its job are left alone") {
  RedisServer server;
  auto worker = open_test_queue(server, "w");
  std::vector<Job> refused;
  worker.on_refused([&](const Job& record) { refused.push_back(record); });
  server.command({"SET", "pipeline:run:old:checkpoint", "=kept"});
  server.command({"XADD", "pipeline:jobs:normal", "*", "kind", "source", "source", "https://example.com/a.pdf", "brand",
                  "acme", "run_id", "old"});
  CHECK(queue_is_empty(worker));
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].error.find("run old exists") != std::string::npos);
  CHECK(server.command({"EXISTS", "pipeline:job:old"}).integer == 0);
  CHECK(server.command({"GET", "pipeline:run:old:checkpoint"}).text == "=kept");
  // A run job for it is what carries a run on.
  server.command({"XADD", "pipeline:jobs:normal", "*", "kind", "run", "run_id", "old"});
  CHECK(take_now(worker).job.job_id == "old");
}

TEST_CASE("malformed entries are recorded as failed jobs that jobs list shows, under their id or the entry's") {
  RedisServer server;
  auto worker = open_test_queue(server, "w");
  int refusals = 0;
  worker.on_refused([&](const Job&) { ++refusals; });
  server.command({"XADD", "pipeline:jobs:low", "*", "kind", "exec", "run_id", "odd-kind"});
  server.command({"XADD", "pipeline:jobs:low", "*", "priority", "urgent", "run_id", "odd-priority"});
  const auto traversal = server.command({"XADD", "pipeline:jobs:low", "*", "run_id", "../../etc"});
  const auto nameless = server.command({"XADD", "pipeline:jobs:low", "*", "kind", "source"});
  const auto two_ids = server.command({"XADD", "pipeline:jobs:low", "*", "run_id", "r1", "job_id", "r2"});
  CHECK(queue_is_empty(worker));
  CHECK(refusals == 5);
  const auto listed = worker.list();
  REQUIRE(listed.has_value());
  std::map<std::string, Job> jobs;
  for (const auto& job : *listed) jobs[job.job_id] = job;
  REQUIRE(jobs.size() == 5);
  CHECK(jobs.at("odd-kind").error.find("unknown job kind") != std::string::npos);
  CHECK(jobs.at("odd-priority").error.find("unknown priority") != std::string::npos);
  CHECK(jobs.at("entry-low-" + traversal.text).error.find("is not valid") != std::string::npos);
  CHECK(jobs.at("entry-low-" + nameless.text).error.find("no run_id") != std::string::npos);
  CHECK(jobs.at("entry-low-" + two_ids.text).error.find("differs from run_id") != std::string::npos);
  for (const auto& [id, job] : jobs) {
    CAPTURE(id);
    CHECK(job.state == JobState::failed);
    CHECK(job.worker == "w");
  }
  CHECK(worker.counts()->in_flight == 0);
  CHECK(server.command({"XLEN", "pipeline:jobs:low"}).integer == 0);
}

TEST_CASE("jobs list shows a job whose hash cannot be read, and a refused source entry's record") {
  RedisServer server;
  auto worker = open_test_queue(server, "w");
  server.command({"HSET", "pipeline:job:weird", "run_id", "weird", "state", "exploded\n"});
  server.command({"ZADD", "pipeline:jobs:index", "1", "weird"});
  server.command({"XADD", "pipeline:jobs:normal", "*", "kind", "source", "run_id", "no-brand", "source", "https://a/b.pdf"});
  CHECK(queue_is_empty(worker));
  const auto listed = worker.list();
  REQUIRE(listed.has_value());
  REQUIRE(listed->size() == 2);
  CHECK(listed->at(0).job_id == "weird");
  CHECK(listed->at(0).state == JobState::failed);
  CHECK(listed->at(0).error.find("exploded\\x0a") != std::string::npos);
  CHECK(listed->at(1).job_id == "no-brand");
  CHECK(listed->at(1).kind == JobKind::source);
  CHECK(listed->at(1).error.find("needs both source and brand") != std::string::npos);
}

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "checkpoints/redis_run_store.hpp"
#include "checkpoints/retention.hpp"
#include "lib/util/time.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/run_states.hpp"

using namespace pipeline::checkpoints;
namespace util = pipeline::util;
using namespace std::chrono_literals;

namespace pipeline::testing {
namespace {

const auto k_retention_now = std::chrono::sys_days(std::chrono::year(2026) / 12 / 7) + 12h;

std::string retention_stamp(std::chrono::system_clock::time_point at) {
  const auto day = std::chrono::floor<std::chrono::days>(at);
  const std::chrono::year_month_day date(day);
  const std::chrono::hh_mm_ss time(std::chrono::floor<std::chrono::milliseconds>(at - day));
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), time.hours().count(),
                     time.minutes().count(), time.seconds().count(), time.subseconds().count());
}

// The run made by run_with_two_done_stages, given `status` and a last save
// `days` before k_retention_now; its lock is released.
void retention_run(RunStore& store, const std::string& run_id, RunStatus status, int days) {
  std::unique_ptr<RunLock> lock;
  auto state = run_with_two_done_stages(store, run_id, &lock);
  state.status = status;
  if (status == RunStatus::failed) state.error = ErrorRecord{"failed", "the model said no"};
  state.updated_at = retention_stamp(k_retention_now - std::chrono::days(days));
  auto appended = store.append_event(run_id, R"({"event":"run_done"})");
  REQUIRE_MESSAGE(appended.has_value(), appended.error().message);
  auto saved = store.save(state);
  REQUIRE_MESSAGE(saved.has_value(), saved.error().message);
}

std::set<std::string> retention_ids(const std::vector<PrunedRun>& runs) {
  std::set<std::string> ids;
  for (const auto& run : runs) ids.insert(run.run_id);
  return ids;
}

PruneReport retention_prune(RunStore& store, PruneStatus status, bool dry_run) {
  PruneRules rules;
  rules.older_than = std::chrono::days(30);
  rules.status = status;
  rules.dry_run = dry_run;
  auto report = prune_runs(store, rules, k_retention_now);
  REQUIRE_MESSAGE(report.has_value(), report.error().message);
  return *report;
}

// The same story for any store: old runs of the status go whole, new ones
// and one held by another process stay, and a dry run changes nothing.
void check_prune_story(RunStore& store, RunStore& other_process) {
  retention_run(store, "old-done", RunStatus::completed, 45);
  retention_run(store, "old-failed", RunStatus::failed, 31);
  retention_run(store, "new-done", RunStatus::completed, 29);
  retention_run(store, "old-held", RunStatus::completed, 60);
  auto held = other_process.lock("old-held");
  REQUIRE_MESSAGE(held.has_value(), held.error().message);

  const auto preview = retention_prune(store, PruneStatus::completed, true);
  CHECK(retention_ids(preview.removed) == std::set<std::string>{"old-done"});
  CHECK(retention_ids(preview.kept) == std::set<std::string>{"old-held"});
  CHECK(preview.kept.at(0).reason.find("in use by") != std::string::npos);
  REQUIRE(preview.removed.size() == 1);
  const auto measured = store.footprint("old-done");
  REQUIRE(measured.has_value());
  CHECK(*measured > 0);
  CHECK(preview.removed.at(0).bytes == *measured);
  CHECK(preview.bytes == *measured);
  CHECK(store.list().size() == 4);

  const auto done = retention_prune(store, PruneStatus::completed, false);
  CHECK(retention_ids(done.removed) == std::set<std::string>{"old-done"});
  CHECK(done.bytes == *measured);
  CHECK(retention_ids(done.kept) == std::set<std::string>{"old-held"});
  CHECK_FALSE(store.exists("old-done"));
  const auto events = store.read_events("old-done");
  CHECK((!events || events->empty()));
  CHECK(store.list() == std::vector<std::string>{"new-done", "old-failed", "old-held"});

  const auto all = retention_prune(store, PruneStatus::all, false);
  CHECK(retention_ids(all.removed) == std::set<std::string>{"old-failed"});
  CHECK(retention_ids(all.kept) == std::set<std::string>{"old-held"});
  // The run held elsewhere is whole: it still loads and verifies.
  CHECK(store.load("old-held").has_value());

  held->reset();
  const auto released = retention_prune(store, PruneStatus::all, false);
  CHECK(retention_ids(released.removed) == std::set<std::string>{"old-held"});
  CHECK(store.list() == std::vector<std::string>{"new-done"});
  CHECK(store.load("new-done").has_value());
}

}  // namespace

TEST_CASE("parse_utc_time reads the times checkpoints write and nothing else") {
  const auto parsed = parse_utc_time("2026-12-07T19:35:06.123Z");
  REQUIRE(parsed.has_value());
  CHECK(*parsed == std::chrono::sys_days(std::chrono::year(2026) / 12 / 7) + 19h + 35min + 6s + 123ms);
  CHECK(parse_utc_time("2026-12-07T19:35:06Z").has_value());
  CHECK(parse_utc_time(util::now_iso8601()).has_value());
  for (const char* bad : {"", "2026-12-07", "2026-12-07T19:35:06", "2026-02-30T00:00:00Z", "2026-12-07T25:00:00Z",
                          "2026-12-07T19:35:06.1Z", "2026-12-07 19:35:06Z", "20x6-12-07T19:35:06Z"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_utc_time(bad).has_value());
  }
}

TEST_CASE("prune statuses have names") {
  for (auto status : {PruneStatus::completed, PruneStatus::failed, PruneStatus::all}) {
    CHECK(parse_prune_status(to_string(status)) == status);
  }
  CHECK_FALSE(parse_prune_status("done").has_value());
}

TEST_CASE("prune_runs on a folder store removes old runs whole and never one another process holds") {
  TempDir dir;
  auto store = make_file_run_store(dir.path());
  auto other = make_file_run_store(dir.path());
  check_prune_story(*store, *other);
  // Nothing is left of the removed runs, not even the folder they were renamed to.
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) names.insert(entry.path().filename());
  CHECK(names == std::set<std::string>{"new-done"});
}

TEST_CASE("prune_runs on a Redis store removes old runs whole and never one another process holds") {
  RedisServer redis;
  RedisStoreOptions options;
  options.connect = redis.connect_options();
  auto store = make_redis_run_store(options);
  auto other = make_redis_run_store(options);
  check_prune_story(*store, *other);
  // Only the kept run has keys left (and no lease: no one holds it).
  std::set<std::string> keys;
  for (const auto& key : redis.command({"KEYS", "pipeline:run:*"}).elements) keys.insert(key.text);
  for (const auto& key : keys) CHECK(key.rfind("pipeline:run:new-done:", 0) == 0);
  CHECK(keys.count("pipeline:run:new-done:checkpoint") == 1);
}

TEST_CASE("prune_runs keeps a Redis run whose job is queued, and removes a finished job with its run") {
  RedisServer redis;
  RedisStoreOptions options;
  options.connect = redis.connect_options();
  auto store = make_redis_run_store(options);
  retention_run(*store, "queued-again", RunStatus::completed, 40);
  retention_run(*store, "finished", RunStatus::completed, 40);
  redis.command({"HSET", "pipeline:job:queued-again", "job_id", "queued-again", "run_id", "queued-again", "state", "queued"});
  redis.command({"HSET", "pipeline:job:finished", "job_id", "finished", "run_id", "finished", "state", "done"});
  redis.command({"HSET", "pipeline:status:finished", "status", "completed"});
  redis.command({"ZADD", "pipeline:jobs:index", "1", "queued-again", "2", "finished"});

  const auto report = retention_prune(*store, PruneStatus::completed, false);
  CHECK(retention_ids(report.removed) == std::set<std::string>{"finished"});
  REQUIRE(report.kept.size() == 1);
  CHECK(report.kept.at(0).run_id == "queued-again");
  CHECK(report.kept.at(0).reason.find("queued or running") != std::string::npos);
  CHECK(redis.command({"EXISTS", "pipeline:job:finished", "pipeline:status:finished"}).integer == 0);
  CHECK(redis.command({"ZSCORE", "pipeline:jobs:index", "finished"}).is_nil());
  CHECK(redis.command({"HGET", "pipeline:job:queued-again", "state"}).text == "queued");
  CHECK(store->load("queued-again").has_value());
  // The queued run's lease was given back: a worker can take it at once.
  CHECK(redis.command({"EXISTS", "pipeline:run:queued-again:lease"}).integer == 0);
}

}  // namespace pipeline::testing

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "checkpoints/redis_run_store.hpp"
#include "lib/util/file_io.hpp"
#include "tests/support/cli_env.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/marked_document.hpp"
#include "tests/support/queue_world.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline::testing;
using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace checkpoints = pipeline::checkpoints;

namespace {

// A run's checkpoint in a folder store, last saved 40 days ago (the
// checkpoint itself carries no hash, so an edit is a plain rewrite).
void age_folder_run(const CliEnv& env, const std::string& run_id) {
  json checkpoint = env.checkpoint(run_id);
  checkpoint["updated_at"] = "2020-01-01T00:00:00.000Z";
  std::ofstream(fs::path(env.runs_dir) / run_id / "checkpoint.json", std::ios::trunc) << checkpoint.dump(2) << "\n";
}

// The same for a run in Redis, saved through the store under its lease.
void age_redis_run(const RedisServer& redis, const std::string& run_id) {
  checkpoints::RedisStoreOptions options;
  options.connect = redis.connect_options();
  auto store = checkpoints::make_redis_run_store(options);
  auto lock = store->lock(run_id);
  REQUIRE_MESSAGE(lock.has_value(), lock.error().message);
  auto state = store->read_checkpoint(run_id);
  REQUIRE(state.has_value());
  state->updated_at = "2020-01-01T00:00:00.000Z";
  auto saved = store->save(*state);
  REQUIRE_MESSAGE(saved.has_value(), saved.error().message);
}

std::size_t prune_cache_files(const std::string& dir) {
  std::size_t count = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    count += it->path().extension() == ".json";
  }
  return count;
}

std::set<std::string> prune_run_keys(const RedisServer& redis, const std::string& run_id) {
  std::set<std::string> keys;
  for (const auto& pattern : {"pipeline:run:" + run_id + ":*", "pipeline:job:" + run_id, "pipeline:status:" + run_id}) {
    for (const auto& key : redis.command({"KEYS", pattern}).elements) keys.insert(key.text);
  }
  return keys;
}

}  // namespace

TEST_CASE("prune on a folder store: --dry-run shows the old run and its size, prune removes it, the cache goes by its own age") {
  FakeLlmServer server;
  CliEnv env(server);
  for (const char* id : {"old", "fresh"}) {
    auto run = env.run({"run", write_marked_pdf(env, std::string("Prune") + id), "--brand", env.brand_path, "--run-id", id});
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
  }
  age_folder_run(env, "old");
  const std::string cache_dir = env.options.env.at("PIPELINE_CACHE_DIR");
  const std::size_t cached = prune_cache_files(cache_dir);
  REQUIRE(cached > 0);

  auto preview = env.run({"prune", "--older-than", "30d", "--cache-older-than", "1ms", "--dry-run", "--json"});
  INFO(preview.err);
  REQUIRE(preview.exit_code == 0);
  const json shown = json::parse(preview.out);
  CHECK(shown.at("dry_run") == true);
  REQUIRE(shown.at("runs").at("removed").size() == 1);
  CHECK(shown.at("runs").at("removed").at(0).at("run_id") == "old");
  CHECK(shown.at("runs").at("removed").at(0).at("status") == "completed");
  CHECK(shown.at("runs").at("bytes").get<std::uint64_t>() > 10'000);
  CHECK(shown.at("stage_cache").at("entries").get<std::size_t>() == cached);
  CHECK(fs::exists(fs::path(env.runs_dir) / "old"));
  CHECK(prune_cache_files(cache_dir) == cached);

  auto pruned = env.run({"prune", "--older-than", "30d", "--status", "completed"});
  INFO(pruned.err);
  REQUIRE(pruned.exit_code == 0);
  CHECK(pruned.out.find("removed 1 run (") != std::string::npos);
  CHECK(pruned.out.find("old  completed  2020-01-01T00:00:00.000Z") != std::string::npos);
  CHECK_FALSE(fs::exists(fs::path(env.runs_dir) / "old"));
  CHECK(env.run({"show", "fresh"}).exit_code == 0);
  CHECK(prune_cache_files(cache_dir) == cached);

  // With its cache gone, the same document is asked of the model again.
  auto cache = env.run({"prune", "--cache-older-than", "1ms"});
  REQUIRE(cache.exit_code == 0);
  CHECK(cache.out.find(fmt::format("removed {} entries", cached)) != std::string::npos);
  CHECK(prune_cache_files(cache_dir) == 0);
  const int before = server.request_count();
  auto again = env.run({"run", write_marked_pdf(env, "Prunefresh"), "--brand", env.brand_path, "--run-id", "again"});
  REQUIRE(again.exit_code == 0);
  CHECK(server.request_count() - before == k_requests_per_run);
}

TEST_CASE("prune refuses what it cannot read") {
  FakeLlmServer server;
  CliEnv env(server);
  CHECK(env.run({"prune"}).exit_code == 2);
  CHECK(env.run({"prune", "--older-than", "30x"}).exit_code == 2);
  CHECK(env.run({"prune", "--older-than", "30d", "--status", "done"}).exit_code == 2);
  auto nothing = env.run({"prune", "--older-than", "30d"});
  CHECK(nothing.exit_code == 0);
  CHECK(nothing.out.find("removed 0 runs (0 B)") != std::string::npos);
}

TEST_CASE("prune on a Redis store removes an old run with its finished job, whole; a run in use stays") {
  QueueWorld world;
  world.submit(write_marked_pdf(world.env, "Pruneold"), "old");
  world.submit(write_marked_pdf(world.env, "Prunenew"), "new");
  for (int i = 0; i < 2; ++i) REQUIRE(world.env.run({"worker", "--once", "--lease", "3s"}).exit_code == 0);
  REQUIRE(world.job_state("old") == "done");
  age_redis_run(world.redis, "old");
  REQUIRE_FALSE(prune_run_keys(world.redis, "old").empty());

  auto preview = world.env.run({"prune", "--older-than", "30d", "--dry-run", "--json"});
  INFO(preview.err);
  REQUIRE(preview.exit_code == 0);
  const json shown = json::parse(preview.out);
  REQUIRE(shown.at("runs").at("removed").size() == 1);
  CHECK(shown.at("runs").at("removed").at(0).at("run_id") == "old");
  CHECK(shown.at("runs").at("bytes").get<std::uint64_t>() > 10'000);
  CHECK(world.job_state("old") == "done");

  auto pruned = world.env.run({"prune", "--older-than", "30d", "--json"});
  REQUIRE(pruned.exit_code == 0);
  CHECK(json::parse(pruned.out).at("runs").at("bytes") == shown.at("runs").at("bytes"));
  CHECK(prune_run_keys(world.redis, "old").empty());
  CHECK(world.env.run({"jobs", "show", "old"}).exit_code == 3);
  CHECK(world.env.run({"show", "new"}).exit_code == 0);
  CHECK(world.job_state("new") == "done");
}

TEST_CASE("--ttl: a finished run's keys in Redis expire together; submit's TTL wins over the worker's") {
  QueueWorld world;
  world.submit(write_marked_pdf(world.env, "Ttlworker"), "by-worker");
  auto submitted = world.env.run({"submit", write_marked_pdf(world.env, "Ttlsubmit"), "--brand", world.env.brand_path,
                                  "--run-id", "by-submit", "--ttl", "3s"});
  INFO(submitted.err);
  REQUIRE(submitted.exit_code == 0);
  for (int i = 0; i < 2; ++i) {
    auto once = world.env.run({"worker", "--once", "--lease", "3s", "--ttl", "1h"});
    INFO(once.err);
    REQUIRE(once.exit_code == 0);
  }
  const auto keys = prune_run_keys(world.redis, "by-worker");
  REQUIRE(keys.size() >= 6);
  for (const auto& key : keys) {
    CAPTURE(key);
    const long long left = world.redis.command({"PTTL", key}).integer;
    CHECK(left > 3'500'000);
    CHECK(left <= 3'600'000);
  }
  CHECK(world.env.run({"show", "by-worker"}).exit_code == 0);

  // The run of submit --ttl 3s: every key goes at the same instant.
  CHECK(eventually([&] { return prune_run_keys(world.redis, "by-submit").empty(); }, 8s));
  auto listed = world.env.run({"list", "--json"});
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.out.find("by-submit") == std::string::npos);
  CHECK(listed.out.find("by-worker") != std::string::npos);
  CHECK(world.env.run({"show", "by-submit"}).exit_code == 3);

  CHECK(world.env.run({"worker", "--once", "--ttl", "500ms"}).exit_code == 2);
  CHECK(world.env.run({"submit", "--run", "by-worker", "--ttl", "soon"}).exit_code == 2);
}

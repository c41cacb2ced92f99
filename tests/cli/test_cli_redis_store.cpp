#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "checkpoints/redis_run_store.hpp"
#include "tests/support/cli_env.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline::testing;
using nlohmann::json;
namespace checkpoints = pipeline::checkpoints;

namespace {

// The CLI environment with its runs in `redis` instead of a folder, and the
// stage cache in the same Redis (no cache folder).
void use_redis_store(CliEnv& env, const RedisServer& redis) {
  env.options.env["PIPELINE_STORE"] = redis.url();
  env.options.env["PIPELINE_CACHE_DIR"] = "";
  if (redis.options().tls) env.options.env["PIPELINE_REDIS_CA"] = redis.options().tls_files.ca_cert;
}

std::unique_ptr<checkpoints::RedisRunStore> redis_cli_store(const RedisServer& redis) {
  checkpoints::RedisStoreOptions options;
  options.connect = redis.connect_options();
  return checkpoints::make_redis_run_store(options);
}

// Every path the checkpoint names: the run's files and each stage's artifacts.
std::vector<std::string> checkpoint_paths(const json& checkpoint) {
  std::vector<std::string> paths;
  for (const auto& file : checkpoint.at("files")) paths.push_back(file.at("path"));
  for (const auto& stage : checkpoint.at("stages")) {
    for (const auto& artifact : stage.at("artifacts")) paths.push_back(artifact.at("path"));
  }
  return paths;
}

json redis_checkpoint(const RedisServer& redis, const std::string& run_id) {
  auto state = redis_cli_store(redis)->load(run_id);
  REQUIRE_MESSAGE(state.has_value(), state.error().message);
  return checkpoints::to_json(*state);
}

}  // namespace

TEST_CASE("a run in Redis gives the same cards, byte for byte, as the same run in a folder") {
  FakeLlmServer server;
  CliEnv folder(server);
  auto in_folder = folder.run({"run", example_pdf_path(), "--brand", folder.brand_path, "--run-id", "same"});
  INFO(in_folder.err);
  REQUIRE(in_folder.exit_code == 0);

  RedisServer redis;
  CliEnv env(server);
  use_redis_store(env, redis);
  const int before = server.request_count();
  auto in_redis = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "same"});
  INFO(in_redis.err);
  REQUIRE(in_redis.exit_code == 0);
  // Its own stage cache (in Redis) was empty: the whole chain was asked.
  CHECK(server.request_count() - before == k_requests_per_run);
  CHECK(in_redis.out.find("report: " + redis.url() + "#same/report.html (`") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(env.runs_dir));

  const json checkpoint = folder.checkpoint("same");
  const json stored = redis_checkpoint(redis, "same");
  CHECK(stored.at("status") == "completed");
  CHECK(checkpoint_paths(stored) == checkpoint_paths(checkpoint));
  auto store = redis_cli_store(redis);
  int cards = 0;
  for (const auto& path : checkpoint_paths(checkpoint)) {
    CAPTURE(path);
    const std::string content = store->read_artifact("same", path).value_or_throw();
    // The HTML page shows times, durations and the order in which the cards
    // came back, which no two runs share; every other file is the same to the byte.
    if (path == "report.html") {
      CHECK(content.find("<footer class=\"colophon\">Made by pipeline") != std::string::npos);
      continue;
    }
    CHECK(content == folder.read("same", path));
    cards += path.rfind("cards/", 0) == 0;
  }
  CHECK(cards >= 5);
  // The events are in Redis, one line each, as in events.ndjson.
  const auto events = store->read_events("same").value_or_throw();
  REQUIRE_FALSE(events.empty());
  CHECK(json::parse(events.back()).at("event") == "run_finished");
  // The stage cache is in the same Redis.
  CHECK(redis.command({"KEYS", "pipeline:cache:stage:*"}).elements.size() == 5);
}

TEST_CASE("run --deadline then resume --store carry a run on across invocations; status, list and show read it") {
  FakeLlmServer server;
  server.set_pace({std::chrono::milliseconds(300), 0});
  RedisServer redis;
  CliEnv env(server);
  use_redis_store(env, redis);
  auto first = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "budget", "--deadline", "1s"});
  INFO(first.err);
  CHECK(first.exit_code == 75);
  CHECK(first.err.find("pipeline resume budget") != std::string::npos);
  CHECK(redis_checkpoint(redis, "budget").at("status") == "incomplete");

  // What each stage had cost when an invocation ended with it done: resume
  // goes on from the last checkpoint, so a done stage is never asked again.
  std::map<std::string, int> asked_when_done;
  const auto note_done_stages = [&] {
    const auto counts = requests_per_stage(server);
    const json checkpoint = redis_checkpoint(redis, "budget");
    for (const auto& stage : checkpoint.at("stages")) {
      const std::string name = stage.at("name");
      if (stage.at("status") == "done" && asked_when_done.count(name) == 0) asked_when_done[name] = counts.at(name);
    }
  };
  note_done_stages();
  CHECK_FALSE(asked_when_done.empty());
  int invocations = 1;
  int last = 75;
  while (last == 75 && invocations < 15) {
    auto result = env.run({"resume", "budget", "--deadline", "1s"});
    last = result.exit_code;
    ++invocations;
    note_done_stages();
  }
  CHECK(last == 0);
  CHECK(invocations >= 2);
  REQUIRE(asked_when_done.size() == 5);
  for (const auto& [stage, count] : requests_per_stage(server)) {
    CAPTURE(stage);
    CHECK(count == asked_when_done.at(stage));
  }

  auto status = env.run({"status", "budget", "--json"});
  REQUIRE(status.exit_code == 0);
  const auto state = json::parse(status.out);
  CHECK(state.at("live_status") == "completed");
  CHECK(state.at("location") == redis.url() + "#budget");

  auto list = env.run({"list", "--json"});
  REQUIRE(list.exit_code == 0);
  const auto runs = json::parse(list.out);
  REQUIRE(runs.size() == 1);
  CHECK(runs.at(0).at("run_id") == "budget");
  CHECK(runs.at(0).at("stages_done") == 5);

  auto show = env.run({"show", "budget"});
  REQUIRE(show.exit_code == 0);
  CHECK(show.out.rfind("# Innovation report: budget", 0) == 0);
  auto stage = env.run({"show", "budget", "--stage", "mechanisms", "--json"});
  REQUIRE(stage.exit_code == 0);
  CHECK(json::parse(stage.out) == json::parse(redis_cli_store(redis)->read_artifact("budget", "stages/01-mechanisms.json").value_or_throw()));

  auto missing = env.run({"status", "nope"});
  CHECK(missing.exit_code == 3);
  CHECK(missing.err.find("run nope not found in " + redis.url()) != std::string::npos);
}

TEST_CASE("a second process on a run in Redis is busy while the first holds the lease") {
  FakeLlmServer server;
  server.set_pace({std::chrono::milliseconds(5000), 0});
  RedisServer redis;
  CliEnv env(server);
  use_redis_store(env, redis);
  env.disable_cache();
  REQUIRE(env.run({"new", example_pdf_path(), "--brand", env.brand_path, "--run-id", "held"}).exit_code == 0);
  auto first = env.start({"resume", "held"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (server.request_count() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(server.request_count() > 0);
  auto second = env.run({"resume", "held"});
  CHECK(second.exit_code == 5);
  CHECK(second.err.find("leased by pid " + std::to_string(first.pid())) != std::string::npos);
  auto status = env.run({"status", "held", "--json"});
  CHECK(json::parse(status.out).at("live_status") == "running");
  first.send_signal(SIGTERM);
  CHECK(first.wait(std::chrono::seconds(10)).exit_code == 143);
  // The lease was released on the way out: the run is free at once.
  CHECK(redis.command({"EXISTS", "pipeline:run:held:lease"}).integer == 0);
  CHECK(json::parse(env.run({"status", "held", "--json"}).out).at("live_status") == "incomplete");
}

TEST_CASE("a rediss:// store with --redis-ca; the password never shows anywhere") {
  FakeLlmServer server;
  TempDir certificates;
  RedisServerOptions options;
  options.tls = true;
  options.tls_files = make_test_certificates(certificates.path(), {"IP:127.0.0.1"});
  options.password = "Cli-Redis-Secret-31";
  RedisServer redis(options);
  CliEnv env(server);
  use_redis_store(env, redis);
  REQUIRE(redis.url().rfind("rediss://:Cli-Redis-Secret-31@", 0) == 0);

  auto run = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "tls", "--json"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  auto status = env.run({"status", "tls"});
  REQUIRE(status.exit_code == 0);

  env.options.env["PIPELINE_REDIS_CA"] = "";
  auto untrusted = env.run({"status", "tls"});
  CHECK(untrusted.exit_code == 3);
  CHECK(untrusted.err.find("--redis-ca") != std::string::npos);
  auto wrong = env.run({"list", "--store", "rediss://:Not-The-Password-9@127.0.0.1:" + std::to_string(redis.port()) + "/0",
                        "--redis-ca", options.tls_files.ca_cert});
  CHECK(wrong.exit_code == 3);
  CHECK(wrong.err.find("refused the login") != std::string::npos);

  const std::string masked = "rediss://:***@127.0.0.1:" + std::to_string(redis.port()) + "/0";
  CHECK(status.out.find(masked) == std::string::npos);  // status names no store; show the masked one below
  CHECK(json::parse(env.run({"status", "tls", "--json", "--redis-ca", options.tls_files.ca_cert}).out).at("location") ==
        masked + "#tls");
  auto store = checkpoints::make_redis_run_store({redis.connect_options(), checkpoints::k_default_redis_prefix,
                                                  checkpoints::k_default_lease_ttl});
  std::string everything = run.out + run.err + status.out + status.err + untrusted.err + wrong.err;
  for (const auto& line : store->read_events("tls").value_or_throw()) everything += line;
  everything += checkpoints::to_json(store->load("tls").value_or_throw()).dump();
  const auto keys = redis.command({"KEYS", "*"});
  for (const auto& key : keys.elements) {
    const auto type = redis.command({"TYPE", key.text}).text;
    if (type == "string") everything += redis.command({"GET", key.text}).text;
    if (type == "hash") {
      const auto values = redis.command({"HVALS", key.text});
      for (const auto& value : values.elements) everything += value.text;
    }
  }
  CHECK(everything.find("Cli-Redis-Secret-31") == std::string::npos);
  CHECK(everything.find("Not-The-Password-9") == std::string::npos);
  CHECK(everything.find(k_secret_key) == std::string::npos);
}

TEST_CASE("brands pushed to the store are found by id; a batch runs in Redis too") {
  FakeLlmServer server;
  RedisServer redis;
  CliEnv env(server);
  use_redis_store(env, redis);
  TempDir brands;
  const std::string pushed = write_test_brand(brands.path(), "pushed-brand", "Pushed Provisions");
  auto push = env.run({"brands", "push", pushed, "--json"});
  INFO(push.err);
  REQUIRE(push.exit_code == 0);
  CHECK(json::parse(push.out).at(0).at("id") == "pushed-brand");
  std::filesystem::remove(pushed);

  auto created = env.run({"new", example_pdf_path(), "--brand", "pushed-brand", "--run-id", "by-id"});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  CHECK(redis_checkpoint(redis, "by-id").at("brand").at("company_name") == "Pushed Provisions");
  auto show = env.run({"brands", "show", "pushed-brand"});
  CHECK(show.exit_code == 0);
  CHECK(show.out.find("Source: " + redis.url() + "#brand:pushed-brand") == 0);
  // brands list names it beside the shipped brands, with the store as its source.
  auto listed = env.run({"brands", "list", "--json"});
  INFO(listed.err);
  REQUIRE(listed.exit_code == 0);
  int pushed_rows = 0;
  int shipped_rows = 0;
  for (const auto& row : json::parse(listed.out)) {
    if (row.at("id") == "pushed-brand") {
      ++pushed_rows;
      CHECK(row.at("source") == redis.url() + "#brand:pushed-brand");
      CHECK(row.at("company_name") == "Pushed Provisions");
    } else {
      ++shipped_rows;
    }
  }
  CHECK(pushed_rows == 1);
  CHECK(shipped_rows > 0);
  // Another store does not know it.
  RedisServer other;
  auto elsewhere = env.run({"new", example_pdf_path(), "--brand", "pushed-brand", "--store", other.url()});
  CHECK(elsewhere.exit_code == 3);

  auto batch = env.run({"batch", example_pdf_path(), "--brand", "pushed-brand", "--brand", env.brand_path, "--batch-id",
                        "b1", "--jobs", "2"});
  INFO(batch.err);
  REQUIRE(batch.exit_code == 0);
  auto status = env.run({"status", "b1", "--json"});
  REQUIRE(status.exit_code == 0);
  CHECK(json::parse(status.out).at("counts").at("completed") == 2);
  auto resume = env.run({"resume", "b1"});
  CHECK(resume.exit_code == 0);
}

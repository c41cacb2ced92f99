#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lib/redis/cluster_slot.hpp"
#include "tests/fake_server/fake_llm_server.hpp"
#include "tests/support/cli_env.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/marked_document.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/terminate.hpp"

using namespace pipeline::testing;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// The queue's world on a real Redis Cluster: three masters with a replica
// each, a fake model, and the CLI pointed at the cluster by its URL.
struct ClusterWorld {
  ClusterWorld() : env(server) { env.options.env["PIPELINE_STORE"] = cluster.url(); }
  FakeLlmServer server;
  RedisCluster cluster;
  CliEnv env;

  std::unique_ptr<Process> start_worker() const {
    return std::make_unique<Process>(std::vector<std::string>{pipeline_binary(), "worker", "--lease", "3s"}, env.options);
  }
  void submit(const std::string& pdf, const std::string& run_id) const {
    auto result = env.run({"submit", pdf, "--brand", env.brand_path, "--run-id", run_id});
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
  }
  // `pipeline jobs list --json`, by job id; empty while the cluster cannot answer.
  std::map<std::string, json> jobs() const {
    auto listed = env.run({"jobs", "list", "--json"});
    std::map<std::string, json> by_id;
    if (listed.exit_code != 0) return by_id;
    for (const auto& job : json::parse(listed.out)) by_id[job.at("job_id").get<std::string>()] = job;
    return by_id;
  }
  bool all_done(const std::string& prefix, int count) const {
    const auto listed = jobs();
    for (int i = 0; i < count; ++i) {
      const auto found = listed.find(prefix + std::to_string(i));
      if (found == listed.end() || found->second.at("state") != "done") return false;
    }
    return true;
  }
  // The run's events, read through the cluster's master of its slot.
  std::vector<std::string> events(const std::string& run_id) {
    const std::string key = "pipeline:{run:" + run_id + "}:events";
    const auto reply = cluster.command_on(cluster.master_of(pipeline::redis::key_slot(key)), {"LRANGE", key, "0", "-1"});
    std::vector<std::string> lines;
    for (const auto& line : reply.elements) lines.push_back(line.text);
    return lines;
  }
  // The run_finished events of `run_id` with `status` ("completed", "incomplete", ...).
  int finished_events(const std::string& run_id, const std::string& status = "completed") {
    int count = 0;
    for (const auto& line : events(run_id)) {
      const auto event = json::parse(line, nullptr, false);
      count += event.is_object() && event.value("event", "") == "run_finished" && event.value("status", "") == status;
    }
    return count;
  }

  // Every run_finished event of `run_id`, as "<status>: <error>", for a failure's message.
  std::string finished_summary(const std::string& run_id) {
    std::string out;
    for (const auto& line : events(run_id)) {
      const auto event = json::parse(line, nullptr, false);
      if (!event.is_object() || event.value("event", "") != "run_finished") continue;
      out += event.value("status", "") + ": " + event.value("error", "") + "\n";
    }
    return out;
  }
};

}  // namespace

TEST_CASE("a three-master cluster: six jobs, two workers, every run completes once and its keys share one slot") {
  ClusterWorld world;
  world.server.set_pace({milliseconds(100), 0});
  std::set<int> masters;
  for (int i = 0; i < 6; ++i) {
    const std::string id = "spread-" + std::to_string(i);
    world.submit(write_marked_pdf(world.env, "Spreadmark" + std::string(1, static_cast<char>('A' + i))), id);
    masters.insert(world.cluster.master_of(pipeline::redis::key_slot("{run:" + id + "}")).port());
  }
  auto queued = world.env.run({"queue", "--json"});
  REQUIRE(queued.exit_code == 0);
  CHECK(json::parse(queued.out).at("queued").at("normal") == 6);
  auto a = world.start_worker();
  auto b = world.start_worker();
  const bool done = eventually([&] { return world.all_done("spread-", 6); }, seconds(120));
  stop_cleanly(*a);
  stop_cleanly(*b);
  REQUIRE(done);
  MESSAGE("the six runs live on " << masters.size() << " of the three masters");
  CHECK(masters.size() >= 2);
  for (int i = 0; i < 6; ++i) {
    const std::string id = "spread-" + std::to_string(i);
    CAPTURE(id);
    CHECK(world.finished_events(id) == 1);
    auto shown = world.env.run({"show", id, "--json"});
    CHECK(shown.exit_code == 0);
    // Every key of the run, on whichever node holds it, is in the slot of {run:<id>}.
    std::size_t found = 0;
    for (auto& node : world.cluster.nodes()) {
      const auto keys = world.cluster.command_on(*node, {"KEYS", "pipeline:*" + id + "*"});
      for (const auto& key : keys.elements) {
        CAPTURE(key.text);
        CHECK(pipeline::redis::key_slot(key.text) == pipeline::redis::key_slot("{run:" + id + "}"));
        ++found;
      }
    }
    CHECK(found >= 10);  // checkpoint, files, events, epoch, job, status on a master and its replica
  }
  CHECK(world.jobs().size() == 6);
  auto listed = world.env.run({"list"});
  INFO(listed.err);
  CHECK(listed.exit_code == 0);
  for (int i = 0; i < 6; ++i) CHECK(listed.out.find("spread-" + std::to_string(i)) != std::string::npos);
  auto pruned = world.env.run({"prune", "--older-than", "1ms", "--json"});
  INFO(pruned.err);
  CHECK(pruned.exit_code == 0);
  CHECK(world.jobs().empty());
}

TEST_CASE("SIGKILL of the queue's master mid-run: its replica takes over; no run is lost or completed twice") {
  ClusterWorld world;
  world.server.set_pace({milliseconds(250), 0});
  for (int i = 0; i < 6; ++i) {
    world.submit(write_marked_pdf(world.env, "Failmark" + std::string(1, static_cast<char>('A' + i))),
                 "failover-" + std::to_string(i));
  }
  auto a = world.start_worker();
  auto b = world.start_worker();
  REQUIRE(eventually([&] {
    const auto listed = world.jobs();
    for (const auto& [id, job] : listed) {
      if (job.at("state") == "done") return true;
    }
    return false;
  }, seconds(90)));
  // The master of {queue} holds the streams every worker reads: the worst one to lose.
  auto& victim = world.cluster.master_of(pipeline::redis::key_slot("{queue}"));
  const int victim_port = victim.port();
  const auto killed_at = std::chrono::steady_clock::now();
  victim.kill(SIGKILL);
  const bool healed = world.cluster.wait_healthy(seconds(30));
  if (!healed) {
    for (auto& node : world.cluster.nodes()) {
      if (node->running()) MESSAGE(world.cluster.command_on(*node, {"CLUSTER", "NODES"}).text);
    }
  }
  REQUIRE(healed);
  const double failover_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  MESSAGE("a replica served the killed master's slots " << failover_s << " s after the kill");
  CHECK(world.cluster.master_of(pipeline::redis::key_slot("{queue}")).port() != victim_port);
  const bool done = eventually([&] { return world.all_done("failover-", 6); }, seconds(120));
  stop_cleanly(*a);
  stop_cleanly(*b);
  REQUIRE(done);
  for (int i = 0; i < 6; ++i) {
    const std::string id = "failover-" + std::to_string(i);
    CAPTURE(id);
    // Completed exactly once; a run cut off by the failover may first have finished incomplete and been resumed.
    INFO(world.finished_summary(id));
    CHECK(world.finished_events(id) == 1);
  }
  // No entry was refused as a duplicate, and nothing went to the dead letters.
  CHECK(world.jobs().size() == 6);
  auto counts = world.env.run({"queue", "--json"});
  REQUIRE(counts.exit_code == 0);
  CHECK(json::parse(counts.out).at("dead") == 0);
}

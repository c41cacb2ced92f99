#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/cli_env.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/http_file_server.hpp"
#include "tests/support/marked_document.hpp"
#include "tests/support/pdf_builder.hpp"
#include "tests/support/queue_world.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/run_fixture.hpp"
#include "tests/support/terminate.hpp"
#include "tests/support/webhook_receiver.hpp"

using namespace pipeline::testing;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

using WorkerClock = std::chrono::steady_clock;

// The queue's world, with what these tests ask of it.
struct WorkerWorld : QueueWorld {
  using QueueWorld::QueueWorld;
  // True when the jobs <prefix>0 ... <prefix><count - 1> are all done.
  bool all_done(const std::string& prefix, int count) const {
    for (int i = 0; i < count; ++i) {
      if (job_state(prefix + std::to_string(i)) != "done") return false;
    }
    return true;
  }
  std::string lease_pid(const std::string& run_id) const { return hash("pipeline:run:" + run_id + ":lease")["pid"]; }
};

int worker_event_count(const WorkerWorld& world, const std::string& run_id, const std::string& event) {
  const auto reply = world.redis.command({"LRANGE", "pipeline:run:" + run_id + ":events", "0", "-1"});
  int count = 0;
  for (const auto& line : reply.elements) count += line.text.find("\"event\":\"" + event + "\"") != std::string::npos;
  return count;
}


}  // namespace

TEST_CASE("three workers, six jobs: all complete, stages 1-3 of each document asked once") {
  WorkerWorld world;
  world.server.set_pace({milliseconds(150), 0});
  std::vector<std::string> markers;
  for (int i = 0; i < 6; ++i) {
    markers.push_back("Docmark" + std::string(1, static_cast<char>('A' + i)));
    world.submit(write_marked_pdf(world.env, markers.back()), "six-" + std::to_string(i), i % 3 == 0 ? "high" : "normal");
  }
  auto queued = world.env.run({"queue", "--json"});
  REQUIRE(queued.exit_code == 0);
  CHECK(json::parse(queued.out).at("queued").at("normal") == 4);
  CHECK(json::parse(queued.out).at("queued").at("high") == 2);

  std::vector<std::unique_ptr<Process>> workers;
  for (int i = 0; i < 3; ++i) workers.push_back(world.start_worker());
  CHECK(eventually([&] { return json::parse(world.env.run({"queue", "--json"}).out).at("live_workers") == 3; },
                          seconds(10)));
  const bool all_done = eventually([&] { return world.all_done("six-", 6); }, seconds(90));
  for (auto& worker : workers) stop_cleanly(*worker);
  REQUIRE(all_done);
  std::set<std::string> who;
  for (int i = 0; i < 6; ++i) {
    const std::string id = "six-" + std::to_string(i);
    const auto status = world.status(id);
    CAPTURE(id);
    CHECK(status.at("status") == "completed");
    CHECK(status.at("stages_done") == "5");
    CHECK(std::stoll(status.at("tokens")) > 0);
    who.insert(status.at("worker"));
    for (const char* schema : {"mechanisms", "signals", "lessons"}) {
      CAPTURE(schema);
      CHECK(marked_requests(world.server, markers[static_cast<std::size_t>(i)], schema) == 1);
    }
  }
  CHECK(who.size() >= 2);
  auto listed = world.env.run({"jobs", "list", "--json"});
  REQUIRE(listed.exit_code == 0);
  CHECK(json::parse(listed.out).size() == 6);
  auto counts = json::parse(world.env.run({"queue", "--json"}).out);
  CHECK(counts.at("in_flight") == 0);
  CHECK(counts.at("live_workers") == 0);
}

TEST_CASE("a worker killed mid-stage: another takes the job over within lease + 5 s and the cards are the same") {
  WorkerWorld world;
  world.env.disable_cache();
  world.server.set_pace({milliseconds(700), 0});
  const std::string pdf = write_marked_pdf(world.env, "Killmark");
  // The reference: the same document run without interruption, in a folder.
  auto reference = world.env.run({"run", pdf, "--brand", world.env.brand_path, "--run-id", "reference", "--store",
                                  world.env.runs_dir});
  INFO(reference.err);
  REQUIRE(reference.exit_code == 0);
  const int before = world.server.request_count();

  world.submit(pdf, "killed");
  auto first = world.start_worker();
  REQUIRE(eventually([&] { return world.status("killed")["stage"] == "signals"; }, seconds(20)));
  first->send_signal(SIGKILL);
  first->wait();
  const auto killed_at = WorkerClock::now();
  auto second = world.start_worker();
  std::string first_worker = world.status("killed")["worker"];
  REQUIRE(eventually([&] { return world.status("killed")["worker"] != first_worker; }, seconds(3 + 5)));
  const double takeover_s = std::chrono::duration<double>(WorkerClock::now() - killed_at).count();
  MESSAGE("taken over " << takeover_s << " s after the kill");
  REQUIRE(eventually([&] { return world.job_state("killed") == "done"; }, seconds(30)));
  stop_cleanly(*second);

  CHECK(marked_requests(world.server, "Killmark", "mechanisms") == 2);  // the reference's and the first worker's
  CHECK(marked_requests(world.server, "Killmark", "signals") <= 3);     // the stage in flight, at most once more
  CHECK(world.server.request_count() - before <= k_requests_per_run + 1);
  auto cards = world.env.run({"show", "killed", "--json"});
  auto reference_cards = world.env.run({"show", "reference", "--json", "--store", world.env.runs_dir});
  REQUIRE(cards.exit_code == 0);
  CHECK(json::parse(cards.out) == json::parse(reference_cards.out));
  CHECK(world.hash("pipeline:job:killed")["deaths"] == "0");
}

TEST_CASE("a worker stopped past its lease: the job finishes once elsewhere and its own writes are refused") {
  WorkerWorld world;
  world.env.disable_cache();
  world.server.set_pace({milliseconds(700), 0});
  world.submit(write_marked_pdf(world.env, "Stopmark"), "stopped");
  auto first = world.start_worker();
  REQUIRE(eventually([&] { return world.status("stopped")["stage"] == "signals"; }, seconds(20)));
  first->send_signal(SIGSTOP);
  auto second = world.start_worker();
  REQUIRE(eventually([&] { return world.job_state("stopped") == "done"; }, seconds(40)));
  first->send_signal(SIGCONT);
  std::this_thread::sleep_for(seconds(3));
  const auto first_result = stop_cleanly(*first);
  stop_cleanly(*second);
  CHECK(first_result.err.find("lost the run's lease") != std::string::npos);
  CHECK(world.job_state("stopped") == "done");
  CHECK(world.status("stopped")["status"] == "completed");
  CHECK(worker_event_count(world, "stopped", "run_finished") == 1);
  auto status = world.env.run({"status", "stopped", "--json"});
  INFO(status.err);
  REQUIRE(status.exit_code == 0);
  CHECK(json::parse(status.out).at("status") == "completed");
}

TEST_CASE("a job that kills its worker three times goes to the dead letters; the others go on") {
  WorkerWorld world;
  world.env.disable_cache();
  ScriptedReply hang;
  hang.fault = FaultKind::stall_keepalive;
  hang.stall = seconds(60);
  hang.match = "Doommark";
  for (int i = 0; i < 3; ++i) world.server.enqueue(hang);
  world.submit(write_marked_pdf(world.env, "Doommark"), "doomed", "high");
  world.submit(write_marked_pdf(world.env, "Finemark"), "fine", "low");
  for (int death = 1; death <= 3; ++death) {
    CAPTURE(death);
    auto worker = world.start_worker({"--concurrency", "2"});
    REQUIRE(eventually(
        [&] { return marked_requests(world.server, "Doommark", "mechanisms") == death && !world.lease_pid("doomed").empty(); },
        seconds(20)));
    REQUIRE(world.lease_pid("doomed") == std::to_string(worker->pid()));
    if (death == 1) REQUIRE(eventually([&] { return world.job_state("fine") == "done"; }, seconds(20)));
    worker->send_signal(SIGKILL);
    worker->wait();
  }
  auto last = world.start_worker();
  REQUIRE(eventually([&] { return world.job_state("doomed") == "dead"; }, seconds(15)));
  stop_cleanly(*last);
  CHECK(marked_requests(world.server, "Doommark", "mechanisms") == 3);
  const auto dead = world.redis.command({"LRANGE", "pipeline:jobs:dead", "0", "-1"});
  REQUIRE(dead.elements.size() == 1);
  CHECK(dead.elements[0].text == "doomed");
  auto show = world.env.run({"jobs", "show", "doomed", "--json"});
  REQUIRE(show.exit_code == 0);
  CHECK(json::parse(show.out).at("deaths") == 3);
  CHECK(json::parse(world.env.run({"queue", "--json"}).out).at("dead") == 1);
  CHECK(world.job_state("fine") == "done");
}

TEST_CASE("SIGTERM drains: the stage in flight finishes, the job goes back, another worker finishes it") {
  WorkerWorld world;
  world.env.disable_cache();
  world.server.set_pace({milliseconds(1500), 0});
  world.submit(write_marked_pdf(world.env, "Termmark"), "drained");
  auto first = world.start_worker();
  REQUIRE(eventually([&] { return world.status("drained")["stage"] == "mechanisms"; }, seconds(20)));
  first->send_signal(SIGTERM);
  const auto result = first->wait(seconds(30));
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(world.status("drained")["stages_done"] == "1");
  CHECK(world.job_state("drained") == "queued");
  CHECK(world.redis.command({"EXISTS", "pipeline:run:drained:lease"}).integer == 0);
  CHECK(marked_requests(world.server, "Termmark", "mechanisms") == 1);
  // Serverless: invocations with a budget finish it.
  world.server.set_pace({milliseconds(100), 0});
  auto once = world.env.run({"worker", "--once", "--deadline", "50s", "--lease", "3s"});
  INFO(once.err);
  CHECK(once.exit_code == 0);
  CHECK(world.job_state("drained") == "done");
  CHECK(marked_requests(world.server, "Termmark", "mechanisms") == 1);
  auto empty = world.env.run({"worker", "--once", "--lease", "3s"});
  CHECK(empty.exit_code == 0);
}

TEST_CASE("--once with a budget too short leaves the job queued and exits 75") {
  WorkerWorld world;
  world.env.disable_cache();
  world.server.set_pace({milliseconds(1500), 0});
  world.submit(write_marked_pdf(world.env, "Oncemark"), "budget");
  auto once = world.env.run({"worker", "--once", "--deadline", "4s", "--lease", "3s"});
  INFO(once.err);
  CHECK(once.exit_code == 75);
  CHECK(world.job_state("budget") == "queued");
  CHECK(std::stoi(world.status("budget")["stages_done"]) >= 1);
}

TEST_CASE("kill -9 of redis-server mid-batch, then a restart: every job completes") {
  RedisServerOptions durable;
  durable.appendonly = true;
  WorkerWorld world(durable);
  world.server.set_pace({milliseconds(300), 0});
  for (int i = 0; i < 4; ++i) world.submit(write_marked_pdf(world.env, "Crashmark" + std::to_string(i)), "crash-" + std::to_string(i));
  auto a = world.start_worker();
  auto b = world.start_worker();
  REQUIRE(eventually([&] { return world.job_state("crash-0") == "done" || world.job_state("crash-1") == "done"; },
                            seconds(60)));
  std::this_thread::sleep_for(milliseconds(1200));  // appendfsync everysec
  world.redis.kill(SIGKILL);
  std::this_thread::sleep_for(seconds(2));
  world.redis.restart();
  const bool all_done = eventually([&] { return world.all_done("crash-", 4); }, seconds(90));
  stop_cleanly(*a);
  stop_cleanly(*b);
  REQUIRE(all_done);
  for (int i = 0; i < 4; ++i) CHECK(world.status("crash-" + std::to_string(i))["status"] == "completed");
}

TEST_CASE("a source job enqueued with one redis-cli XADD is downloaded, run and completed") {
  WorkerWorld world;
  HttpFileServer files;
  files.serve("/report.pdf", read_bytes(write_marked_pdf(world.env, "Webmark")));
  world.env.options.env["PIPELINE_ALLOW_PRIVATE_URLS"] = "1";
  auto added = run_process({"redis-cli", "-p", std::to_string(world.redis.port()), "XADD", "pipeline:jobs:normal", "*",
                            "kind", "source", "source", files.url("/report.pdf"), "brand", world.env.brand_path,
                            "run_id", "web-1"});
  REQUIRE(added.exit_code == 0);
  auto once = world.env.run({"worker", "--once", "--lease", "3s"});
  INFO(once.err);
  CHECK(once.exit_code == 0);
  CHECK(world.job_state("web-1") == "done");
  CHECK(world.status("web-1")["status"] == "completed");
  CHECK(marked_requests(world.server, "Webmark", "mechanisms") == 1);
  auto show = world.env.run({"show", "web-1", "--json"});
  CHECK(show.exit_code == 0);
}

TEST_CASE("jobs cancel and retry; submit --run queues an existing run") {
  WorkerWorld world;
  world.submit(write_marked_pdf(world.env, "Cancelmark"), "later");
  auto cancelled = world.env.run({"jobs", "cancel", "later"});
  INFO(cancelled.err);
  CHECK(cancelled.exit_code == 0);
  auto once = world.env.run({"worker", "--once", "--lease", "3s"});
  CHECK(once.exit_code == 0);
  CHECK(world.job_state("later") == "cancelled");
  CHECK(marked_requests(world.server, "Cancelmark", "mechanisms") == 0);
  CHECK(world.env.run({"jobs", "retry", "later"}).exit_code == 0);
  CHECK(world.env.run({"worker", "--once", "--lease", "3s"}).exit_code == 0);
  CHECK(world.job_state("later") == "done");
  CHECK(world.env.run({"jobs", "retry", "later"}).exit_code == 3);
  CHECK(world.env.run({"jobs", "show", "nothing"}).exit_code == 3);

  auto made = world.env.run({"new", write_marked_pdf(world.env, "Newmark"), "--brand", world.env.brand_path, "--run-id", "made"});
  REQUIRE(made.exit_code == 0);
  auto queued = world.env.run({"submit", "--run", "made", "--json"});
  INFO(queued.err);
  REQUIRE(queued.exit_code == 0);
  CHECK(json::parse(queued.out) == json{{"run_id", "made"}, {"status", "queued"}});
  auto twice = world.env.run({"submit", "--run", "made"});
  CHECK(twice.exit_code == 3);
  CHECK(twice.err.find("in the queue already") != std::string::npos);
  CHECK(world.env.run({"worker", "--once", "--lease", "3s"}).exit_code == 0);
  CHECK(world.job_state("made") == "done");
  CHECK(world.env.run({"submit", "--run", "missing"}).exit_code == 3);
}

TEST_CASE("the queue needs a Redis store, and a worker refuses a server that evicts keys") {
  FakeLlmServer server;
  CliEnv env(server);
  auto folder = env.run({"submit", example_pdf_path(), "--brand", env.brand_path});
  CHECK(folder.exit_code == 2);
  CHECK(split_lines(folder.err).size() == 1);
  CHECK(folder.err.find("needs a Redis store") != std::string::npos);
  CHECK(env.run({"worker"}).exit_code == 2);

  RedisServerOptions evicting;
  evicting.maxmemory_policy = "allkeys-lru";
  RedisServer redis(evicting);
  env.options.env["PIPELINE_STORE"] = redis.url();
  auto refused = env.run({"worker", "--once"});
  CHECK(refused.exit_code == 3);
  CHECK(refused.err.find("maxmemory-policy allkeys-lru") != std::string::npos);
}

TEST_CASE("submit --notify keeps the URL in the run, and the worker posts the run's events there, signed") {
  WorkerWorld world;
  WebhookReceiver receiver;
  world.env.options.env["PIPELINE_ALLOW_PRIVATE_URLS"] = "1";
  world.env.options.env["PIPELINE_WEBHOOK_SECRET"] = "worker-test-secret";
  auto submitted = world.env.run({"submit", write_marked_pdf(world.env, "Hookmark"), "--brand", world.env.brand_path,
                                  "--run-id", "hooked", "--notify", receiver.url("/hook?token=abc")});
  INFO(submitted.err);
  REQUIRE(submitted.exit_code == 0);
  CHECK(world.hash("pipeline:job:hooked")["notify"] == receiver.url("/hook?token=abc"));
  auto once = world.env.run({"worker", "--once", "--lease", "3s"});
  INFO(once.err);
  REQUIRE(once.exit_code == 0);
  REQUIRE(receiver.wait_for(6, seconds(10)));
  int finished = 0;
  for (const auto& delivery : receiver.received()) {
    CHECK(delivery.headers.count("x-pipeline-signature") == 1);
    CHECK(delivery.body.find(k_secret_key) == std::string::npos);
    finished += delivery.body.find("\"run_finished\"") != std::string::npos;
  }
  CHECK(finished == 1);
  // jobs show hides the receiver's token.
  auto shown = world.env.run({"jobs", "show", "hooked"});
  CHECK(shown.out.find("token=abc") == std::string::npos);
}

TEST_CASE("the queue's commands never show the Redis password or the API key, nor write the key to Redis") {
  const std::string password = "redis-pass-SECRET-41c7";
  RedisServerOptions guarded;
  guarded.password = password;
  WorkerWorld world(guarded);
  REQUIRE(world.redis.url().find(password) != std::string::npos);
  std::string printed;
  auto run_both = [&](std::vector<std::string> args) {
    for (const bool json_output : {false, true}) {
      auto with = args;
      with.push_back("--verbose");
      if (json_output) with.push_back("--json");
      const auto result = world.env.run(with);
      printed += result.out + result.err;
    }
  };
  run_both({"submit", write_marked_pdf(world.env, "Secretmark"), "--brand", world.env.brand_path, "--run-id", "secret-1"});
  run_both({"submit", "--run", "missing"});
  run_both({"worker", "--once", "--lease", "3s"});
  run_both({"worker", "--once", "--lease", "3s"});
  run_both({"jobs", "list"});
  run_both({"jobs", "show", "secret-1"});
  run_both({"queue"});
  CHECK(world.job_state("secret-1") == "done");
  CHECK(printed.find("***@") != std::string::npos);  // the URL was shown, masked
  CHECK(printed.find(password) == std::string::npos);
  CHECK(printed.find(k_secret_key) == std::string::npos);

  std::string stored;
  const auto keys = world.redis.command({"KEYS", "*"});
  for (const auto& key : keys.elements) {
    const std::string type = world.redis.command({"TYPE", key.text}).text;
    pipeline::redis::Command read;
    if (type == "string") read = {"GET", key.text};
    else if (type == "hash") read = {"HGETALL", key.text};
    else if (type == "list") read = {"LRANGE", key.text, "0", "-1"};
    else if (type == "set") read = {"SMEMBERS", key.text};
    else if (type == "zset") read = {"ZRANGE", key.text, "0", "-1"};
    else if (type == "stream") read = {"XRANGE", key.text, "-", "+"};
    else continue;
    const auto reply = world.redis.command(read);
    stored += reply.text;
    for (const auto& element : reply.elements) {
      stored += element.text;
      for (const auto& inner : element.elements) stored += inner.text;
    }
  }
  CHECK(stored.find("Secretmark") != std::string::npos);  // the run's text is there: the scan saw the values
  CHECK(stored.find(k_secret_key) == std::string::npos);
  CHECK(stored.find(password) == std::string::npos);
}

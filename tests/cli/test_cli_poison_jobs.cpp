// Hostile entries in the queue: malformed, reused ids, local and blocking
// sources. Each must end as a visible failed job while the worker serves the
// good ones on, and SIGTERM must drain within --drain-timeout whatever a job
// is doing.

#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/cli_env.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/http_file_server.hpp"
#include "tests/support/loopback_socket.hpp"
#include "tests/support/marked_document.hpp"
#include "tests/support/pdf_builder.hpp"
#include "tests/support/queue_world.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/run_fixture.hpp"
#include "tests/support/terminate.hpp"

using namespace pipeline::testing;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

using Entry = std::vector<std::string>;  // field, value, ...

// The queue's world, with every job jobs list shows.
struct PoisonWorld : QueueWorld {
  // `jobs list --json`, by job id.
  std::map<std::string, json> jobs() const {
    const auto listed = env.run({"jobs", "list", "--json"});
    INFO(listed.err);
    REQUIRE(listed.exit_code == 0);
    std::map<std::string, json> jobs;
    for (const auto& job : json::parse(listed.out)) jobs[job.at("job_id").get<std::string>()] = job;
    return jobs;
  }
};

// Requests for one document's first stage.
int poison_requests_for(const FakeLlmServer& server, const std::string& marker) {
  return marked_requests(server, marker, "mechanisms");
}

bool poison_one_line(const std::string& text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}


// A drained worker: exit 0 within `limit` seconds, the job `id` back in the
// queue for another worker (not failed).
void poison_check_given_back(const PoisonWorld& world, const TerminatedProcess& stopped, const std::string& id,
                             double limit) {
  INFO(stopped.result.err);
  CHECK(stopped.result.exit_code == 0);
  CHECK(stopped.seconds < limit);
  CHECK(world.job_state(id) == "queued");
  CHECK(world.entries_left() == 1);
}

// A TCP server on 127.0.0.1 that accepts connections (the kernel's backlog)
// and never answers.
struct SilentServer {
  SilentServer() {
    fd = bind_loopback_socket(port);
    REQUIRE(::listen(fd, 16) == 0);
  }
  ~SilentServer() { ::close(fd); }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
  int fd = -1;
  int port = 0;
};

}  // namespace

TEST_CASE("fuzz: every hostile entry a worker takes ends failed in jobs list, with a one-line error and a log line") {
  PoisonWorld world;
  TempDir local;
  REQUIRE(::mkfifo((local / "fifo.pdf").c_str(), 0600) == 0);
  const std::string brand = world.env.brand_path;
  const std::string huge(100000, 'h');
  std::vector<Entry> entries{
      {"kind", "exec", "run_id", "fz-kind"},
      {"priority", "urgent", "run_id", "fz-priority"},
      {"run_id", "../../etc/passwd"},
      {"run_id", ".."},
      {"kind", "source", "source", "https://127.0.0.1:1/a.pdf", "brand", brand},
      {"run_id", "fz-a", "job_id", "fz-b"},
      {"run_id", "fz-huge", "brand", huge},
      {"kind", "source", "run_id", "fz-utf8", "source", "https://127.0.0.1:1/\xff\xfe.pdf", "brand", brand},
      {"run_id", "fz\x1b[31mred"},
      {"kind", "source", "run_id", "fz-control", "source", "https://127.0.0.1:1/a.pdf\r\nX-Evil: 1", "brand", brand},
      {"kind", "source", "run_id", "fz-fifo", "source", local / "fifo.pdf", "brand", brand},
      {"kind", "source", "run_id", "fz-zero", "source", "/dev/zero", "brand", brand},
      {"kind", "source", "run_id", "fz-file-url", "source", "file:///etc/passwd", "brand", brand},
      {"kind", "source", "run_id", "fz-outside", "source", "/etc/hostname", "brand", brand},
      {"kind", "run", "run_id", "fz-no-run"},
  };
  // Random entries: fields and values drawn from hostile seeds, with random
  // bytes added; valid run ids are unique so that none is a duplicate.
  std::mt19937 random(7);
  const std::vector<std::string> names{"kind", "job_id", "priority", "source", "brand", "notify", "zz"};
  // (No /dev/zero among them: a brand file that never ends is the store's
  // side of the hostile-data work, not the queue's.)
  const std::vector<std::string> seeds{"run",  "source", "high", "https://127.0.0.1:1/x.pdf", "/etc/hostname",
                                       "../x", "\xff",   "\x1b[2J\x07", "a\nb", std::string(5000, 'z'), brand};
  for (int i = 0; i < 40; ++i) {
    Entry entry;
    for (int f = static_cast<int>(random() % 5); f > 0; --f) {
      std::string value = seeds[random() % seeds.size()];
      if (random() % 3 == 0) {
        for (int j = static_cast<int>(random() % 6); j > 0; --j) value.push_back(static_cast<char>(random() % 256));
      }
      entry.push_back(names[random() % names.size()]);
      entry.push_back(value);
    }
    if (random() % 4 != 0) {
      entry.push_back("run_id");
      entry.push_back(random() % 3 == 0 ? seeds[random() % seeds.size()] : "fz-random-" + std::to_string(i));
    }
    if (entry.empty()) entry = {"zz", "empty"};
    entries.push_back(entry);
  }
  for (const auto& entry : entries) world.add(entry, random() % 2 ? "normal" : "low");

  auto worker = world.start_worker({"--concurrency", "2", "--allow-local-sources", local.path()});
  const bool drained = eventually(
      [&] { return world.entries_left() == 0 && world.jobs().size() == entries.size(); }, seconds(60));
  CHECK(worker->running());
  const auto jobs = world.jobs();
  CHECK(drained);
  CHECK(jobs.size() == entries.size());
  for (const auto& [id, job] : jobs) {
    CAPTURE(id);
    CHECK(job.at("state") == "failed");
    const std::string error = job.value("error", "");
    CHECK_FALSE(error.empty());
    CHECK(poison_one_line(error));
  }
  CHECK(jobs.at("fz-kind").at("error").get<std::string>().find("unknown job kind") != std::string::npos);
  CHECK(jobs.at("fz-priority").at("error").get<std::string>().find("unknown priority") != std::string::npos);
  CHECK(jobs.at("fz-huge").at("error").get<std::string>().find("at most 4096") != std::string::npos);
  CHECK(jobs.at("fz-utf8").at("error").get<std::string>().find("\\xff\\xfe") != std::string::npos);
  CHECK(jobs.at("fz-control").at("error").get<std::string>().find("control characters") != std::string::npos);
  CHECK(jobs.at("fz-fifo").at("error").get<std::string>().find("not a regular file") != std::string::npos);
  CHECK(jobs.at("fz-zero").at("error").get<std::string>().find("outside") != std::string::npos);
  CHECK(jobs.at("fz-file-url").at("error").get<std::string>().find("only http:// and https://") != std::string::npos);
  CHECK(jobs.at("fz-outside").at("error").get<std::string>().find("outside") != std::string::npos);
  CHECK(jobs.at("fz-no-run").at("error").get<std::string>().find("fz-no-run") != std::string::npos);
  int by_entry = 0;
  for (const auto& [id, job] : jobs) by_entry += id.rfind("entry-", 0) == 0;
  CHECK(by_entry >= 5);  // the traversal, missing and double ids at least

  // The human list: one line a job, whatever the entries held.
  const auto listed = world.env.run({"jobs", "list"});
  REQUIRE(listed.exit_code == 0);
  CHECK(split_lines(listed.out).size() == entries.size());

  // The same worker serves a good job after all that.
  world.submit(write_marked_pdf(world.env, "Aftermark"), "after-fuzz");
  CHECK(eventually([&] { return world.job_state("after-fuzz") == "done"; }, seconds(30)));
  const auto result = stop_cleanly(*worker);
  // One log line per entry, naming its job.
  for (const auto& [id, job] : jobs) {
    CAPTURE(id);
    int lines = 0;
    for (const auto& line : split_lines(result.err)) {
      lines += line.find("failed job " + id + ": ") != std::string::npos ||
               line.find("job " + id + " failed: ") != std::string::npos;
    }
    CHECK(lines == 1);
  }
}

TEST_CASE("a worker under a stream of poison jobs keeps serving the good ones, with the right cards and no restart") {
  PoisonWorld world;
  auto worker = world.start_worker();
  const pid_t pid = worker->pid();
  std::vector<std::string> poison_ids;
  for (int round = 0; round < 3; ++round) {
    const std::string n = std::to_string(round);
    world.add({"kind", "exec", "run_id", "poison-kind-" + n});
    world.add({"run_id", "../poison-" + n});
    world.add({"kind", "source", "run_id", "poison-local-" + n, "source", "/dev/zero", "brand", world.env.brand_path});
    world.add({"kind", "source", "run_id", "poison-url-" + n, "source", "https://127.0.0.1:1/x.pdf", "brand",
               world.env.brand_path});
    world.add({"kind", "run", "run_id", "poison-missing-" + n});
    world.submit(write_marked_pdf(world.env, "Goodmark" + n), "good-" + n);
    for (const char* kind : {"kind", "local", "url", "missing"}) poison_ids.push_back(std::string("poison-") + kind + "-" + n);
  }
  const bool done = eventually(
      [&] { return world.job_state("good-0") == "done" && world.job_state("good-1") == "done" &&
                   world.job_state("good-2") == "done" && world.entries_left() == 0; },
      seconds(90));
  CHECK(worker->running());
  CHECK(worker->pid() == pid);
  const auto result = stop_cleanly(*worker);
  INFO(result.err);
  REQUIRE(done);
  for (const auto& id : poison_ids) {
    CAPTURE(id);
    CHECK(world.job_state(id) == "failed");
  }
  CHECK(world.jobs().size() == poison_ids.size() + 3 + 3);  // and the three traversal entries
  for (int round = 0; round < 3; ++round) {
    const std::string n = std::to_string(round);
    CAPTURE(n);
    auto status = world.env.run({"status", "good-" + n, "--json"});
    REQUIRE(status.exit_code == 0);
    const auto state = json::parse(status.out);
    CHECK(state.at("status") == "completed");
    CHECK(state.at("input").at("source").get<std::string>().find("Goodmark" + n + ".pdf") != std::string::npos);
    CHECK(poison_requests_for(world.server, "Goodmark" + n) == 1);
    auto cards = world.env.run({"show", "good-" + n, "--json"});
    CHECK(cards.exit_code == 0);
  }
}

TEST_CASE("a reused run id never yields another run's cards, and an entry for a finished job leaves a trace") {
  PoisonWorld world;
  HttpFileServer files;
  files.serve("/other.pdf", read_bytes(write_marked_pdf(world.env, "Othermark")));
  world.env.options.env["PIPELINE_ALLOW_PRIVATE_URLS"] = "1";
  world.submit(write_marked_pdf(world.env, "Firstmark"), "reuse-1");
  auto first = world.env.run({"worker", "--once", "--lease", "3s"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  REQUIRE(world.job_state("reuse-1") == "done");
  const auto checkpoint = world.redis.command({"GET", "pipeline:run:reuse-1:checkpoint"}).text;
  const auto run_files = world.hash("pipeline:run:reuse-1:files");
  const auto cards = world.env.run({"show", "reuse-1", "--json"});
  REQUIRE(cards.exit_code == 0);
  auto made = world.env.run({"new", write_marked_pdf(world.env, "Madenmark"), "--brand", world.env.brand_path, "--run-id",
                             "made-2"});
  REQUIRE(made.exit_code == 0);

  const std::string reused = world.add({"kind", "source", "source", files.url("/other.pdf"), "brand",
                                        world.env.brand_path, "run_id", "reuse-1"});
  const std::string no_job = world.add({"kind", "source", "source", files.url("/other.pdf"), "brand",
                                        world.env.brand_path, "run_id", "made-2"});
  const std::string again = world.add({"kind", "run", "run_id", "reuse-1"});
  const std::string two_ids = world.add({"kind", "run", "run_id", "reuse-3", "job_id", "reuse-4"});
  auto second = world.env.run({"worker", "--once", "--lease", "3s"});
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(world.entries_left() == 0);

  const auto jobs = world.jobs();
  CHECK(jobs.at("reuse-1").at("state") == "done");
  CHECK(jobs.at("entry-normal-" + reused).at("state") == "failed");
  CHECK(jobs.at("entry-normal-" + reused).at("error").get<std::string>().find("run reuse-1 exists") != std::string::npos);
  CHECK(jobs.at("entry-normal-" + no_job).at("error").get<std::string>().find("run made-2 exists") != std::string::npos);
  CHECK(jobs.at("entry-normal-" + again).at("error").get<std::string>().find("job reuse-1 is done already") !=
        std::string::npos);
  CHECK(jobs.at("entry-normal-" + two_ids).at("error").get<std::string>().find("differs from run_id") !=
        std::string::npos);
  CHECK(jobs.count("made-2") == 0);
  CHECK(second.err.find("entry " + reused + " refused") != std::string::npos);
  // The first run is untouched: the other document was never fetched.
  CHECK(files.requests() == 0);
  CHECK(poison_requests_for(world.server, "Othermark") == 0);
  CHECK(world.redis.command({"GET", "pipeline:run:reuse-1:checkpoint"}).text == checkpoint);
  CHECK(world.hash("pipeline:run:reuse-1:files") == run_files);
  CHECK(json::parse(world.env.run({"show", "reuse-1", "--json"}).out) == json::parse(cards.out));
  CHECK(world.hash("pipeline:status:reuse-1")["status"] == "completed");
}

TEST_CASE("two entries with the same id added at once give exactly one run and one visible failure") {
  PoisonWorld world;
  HttpFileServer files;
  files.serve("/left.pdf", read_bytes(write_marked_pdf(world.env, "Leftmark")));
  files.serve("/right.pdf", read_bytes(write_marked_pdf(world.env, "Rightmark")));
  world.env.options.env["PIPELINE_ALLOW_PRIVATE_URLS"] = "1";
  world.redis.command({"XGROUP", "CREATE", "pipeline:jobs:normal", "workers", "0", "MKSTREAM"});
  world.add({"kind", "source", "source", files.url("/left.pdf"), "brand", world.env.brand_path, "run_id", "twin"});
  world.add({"kind", "source", "source", files.url("/right.pdf"), "brand", world.env.brand_path, "run_id", "twin"});
  // Two workers start together, so each takes one of the entries.
  auto a = world.start_worker();
  auto b = world.start_worker();
  const bool settled = eventually(
      [&] { return world.job_state("twin") == "done" && world.entries_left() == 0; }, seconds(60));
  stop_cleanly(*a);
  stop_cleanly(*b);
  REQUIRE(settled);
  const auto jobs = world.jobs();
  REQUIRE(jobs.size() == 2);
  int failures = 0;
  for (const auto& [id, job] : jobs) {
    if (id == "twin") continue;
    CAPTURE(id);
    ++failures;
    CHECK(id.rfind("entry-normal-", 0) == 0);
    CHECK(job.at("state") == "failed");
    CHECK(job.at("error").get<std::string>().find("run twin exists") != std::string::npos);
  }
  CHECK(failures == 1);
  // One run, of one document, finished once.
  CHECK(poison_requests_for(world.server, "Leftmark") + poison_requests_for(world.server, "Rightmark") == 1);
  int finished = 0;
  for (const auto& line : world.redis.command({"LRANGE", "pipeline:run:twin:events", "0", "-1"}).elements) {
    finished += line.text.find("\"event\":\"run_finished\"") != std::string::npos;
  }
  CHECK(finished == 1);
}

TEST_CASE("SIGTERM with a job blocked on a source that never answers drains within --drain-timeout") {
  PoisonWorld world;
  SilentServer silent;
  world.env.options.env["PIPELINE_ALLOW_PRIVATE_URLS"] = "1";
  world.add({"kind", "source", "source", silent.url("/slow.pdf"), "brand", world.env.brand_path, "run_id", "slow-1"});
  auto worker = world.start_worker({"--drain-timeout", "3s", "--request-timeout", "120s"});
  REQUIRE(eventually([&] { return world.job_state("slow-1") == "running"; }, seconds(15)));
  std::this_thread::sleep_for(milliseconds(500));
  const auto stopped = terminate_process(*worker);
  MESSAGE("drained " << stopped.seconds << " s after SIGTERM (--drain-timeout 3s)");
  poison_check_given_back(world, stopped, "slow-1", 3.5);
  CHECK(world.hash("pipeline:status:slow-1")["status"] == "queued");
}

TEST_CASE("a job blocked where no cancel reaches (a brand FIFO) is given back at --drain-timeout; the worker exits 0") {
  PoisonWorld world;
  TempDir local;
  REQUIRE(::mkfifo((local / "brand.json").c_str(), 0600) == 0);
  world.add({"kind", "source", "source", "https://127.0.0.1:1/a.pdf", "brand", local / "brand.json", "run_id", "stuck-1"});
  auto worker = world.start_worker({"--drain-timeout", "3s"});
  REQUIRE(eventually(
      [&] {
        const auto state = world.job_state("stuck-1");
        return state == "running" || state == "failed";
      },
      seconds(15)));
  std::this_thread::sleep_for(milliseconds(1000));
  if (world.job_state("stuck-1") != "running") {
    // Brand files that are not regular files are refused where brands are
    // read: nothing blocks, and the job failed once with its error.
    MESSAGE("the brand FIFO was refused, not read: " << world.hash("pipeline:job:stuck-1")["error"]);
    CHECK(world.job_state("stuck-1") == "failed");
    CHECK(poison_one_line(world.hash("pipeline:job:stuck-1")["error"]));
    stop_cleanly(*worker);
    return;
  }
  const auto stopped = terminate_process(*worker);
  MESSAGE("exited " << stopped.seconds << " s after SIGTERM with a job blocked on a FIFO (--drain-timeout 3s)");
  poison_check_given_back(world, stopped, "stuck-1", 3.8);
  CHECK(stopped.result.err.find("did not stop within --drain-timeout") != std::string::npos);
}

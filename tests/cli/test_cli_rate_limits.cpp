#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/eventually.hpp"
#include "tests/support/marked_document.hpp"
#include "tests/support/queue_world.hpp"
#include "tests/support/terminate.hpp"

using namespace pipeline::testing;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

using LimitClock = std::chrono::steady_clock;

// The provider's window in these tests, and the tool's (PIPELINE_RATE_WINDOW):
// a minute shortened to seconds so that a run of several windows is quick.
constexpr milliseconds k_limit_window{4000};
constexpr int k_limit_workers = 4;
constexpr int k_limit_jobs = 8;  // two per worker, run at once (--concurrency 2)

// What one job asks of the provider, measured with no limit that binds.
struct JobDemand {
  std::int64_t requests = 0;
  std::int64_t tokens = 0;
};

JobDemand measure_one_job(QueueWorld& world) {
  world.server.set_provider_limits({1'000'000, 1'000'000'000'000, k_limit_window});
  auto result = world.env.run({"run", write_marked_pdf(world.env, "Calibrate"), "--brand", world.env.brand_path,
                               "--run-id", "calibrate", "--store", world.env.runs_dir});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  JobDemand demand;
  for (const auto& [at, tokens] : world.server.provider_admissions()) {
    ++demand.requests;
    demand.tokens += tokens;
  }
  REQUIRE(demand.requests >= 5);
  return demand;
}

// How the fleet did against the provider's limits.
struct FleetOutcome {
  int requests = 0;
  int refused = 0;
  double achieved = 0;  // of the binding limit, over the whole windows of the run
  double seconds = 0;
};

// Four workers, two jobs each at once, against provider limits a quarter of
// what the eight jobs ask in all: the run takes about four windows, where
// unbound it takes less than two, so the fleet would send at least twice
// the limit. `configure` says whether the tool is given the limits too.
FleetOutcome run_fleet(bool configure) {
  QueueWorld world;
  world.env.disable_cache();
  world.server.set_pace({milliseconds(40), 0});
  world.env.options.env["PIPELINE_RATE_WINDOW"] = std::to_string(k_limit_window.count()) + "ms";
  const JobDemand job = measure_one_job(world);
  const int rpm = static_cast<int>(job.requests * k_limit_jobs / 4);
  const std::int64_t tpm = job.tokens * k_limit_jobs / 4;
  MESSAGE("one job: " << job.requests << " requests, " << job.tokens << " tokens; limits " << rpm << " requests and "
                      << tpm << " tokens per " << k_limit_window.count() << " ms");
  world.server.set_provider_limits({rpm, tpm, k_limit_window});
  if (configure) {
    world.env.options.env["PIPELINE_RPM"] = std::to_string(rpm);
    world.env.options.env["PIPELINE_TPM"] = std::to_string(tpm);
  }
  for (int i = 0; i < k_limit_jobs; ++i) {
    world.submit(write_marked_pdf(world.env, "Fleetmark" + std::string(1, static_cast<char>('A' + i))),
                 "fleet-" + std::to_string(i));
  }
  const int before = world.server.request_count();
  const auto start = LimitClock::now();
  std::vector<std::unique_ptr<Process>> workers;
  for (int i = 0; i < k_limit_workers; ++i) workers.push_back(world.start_worker({"--concurrency", "2"}));
  const bool done = eventually(
      [&] {
        for (int i = 0; i < k_limit_jobs; ++i) {
          if (world.job_state("fleet-" + std::to_string(i)) != "done") return false;
        }
        return true;
      },
      seconds(120));
  FleetOutcome outcome;
  outcome.seconds = std::chrono::duration<double>(LimitClock::now() - start).count();
  auto queue = world.env.run({"queue", "--json"});
  for (auto& worker : workers) stop_cleanly(*worker);
  REQUIRE(done);
  outcome.requests = world.server.request_count() - before;
  outcome.refused = world.server.rate_limited_count();

  // The queue shows the limiter: its budget is the provider's, configured or learned.
  REQUIRE(queue.exit_code == 0);
  const auto limits = json::parse(queue.out).at("rate_limits");
  REQUIRE(limits.size() == 1);
  CHECK(limits[0].at("budget").at("rpm") == rpm);
  CHECK(limits[0].at("budget").at("tpm") == tpm);
  CHECK(limits[0].at("learned").at("rpm") == rpm);
  CHECK(limits[0].at("configured").at("rpm") == (configure ? rpm : 0));
  CHECK(limits[0].at("granted").get<int>() >= outcome.requests - outcome.refused);
  CHECK(limits[0].at("key_fingerprint").get<std::string>().size() == 16);

  // The achieved rate: what the provider took in the run's whole windows,
  // against what the binding limit allows in them.
  std::vector<std::pair<LimitClock::time_point, std::int64_t>> taken;
  for (const auto& admission : world.server.provider_admissions()) {
    if (admission.first >= start) taken.push_back(admission);
  }
  REQUIRE(taken.size() >= 2);
  const auto first = taken.front().first;
  const auto windows = (taken.back().first - first) / k_limit_window;
  REQUIRE(windows >= 2);
  const auto end = first + windows * k_limit_window;
  std::int64_t requests = 0;
  std::int64_t tokens = 0;
  for (const auto& [at, charged] : taken) {
    if (at >= end) continue;
    ++requests;
    tokens += charged;
  }
  const double request_share = static_cast<double>(requests) / static_cast<double>(rpm * windows);
  const double token_share = static_cast<double>(tokens) / static_cast<double>(tpm * windows);
  outcome.achieved = std::max(request_share, token_share);
  MESSAGE(std::string(configure ? "configured" : "headers only") << ": " << outcome.requests << " requests, " << outcome.refused
                                                       << " refused with 429, " << windows << " whole windows at "
                                                       << request_share << " of the request limit and " << token_share
                                                       << " of the token limit, " << outcome.seconds << " s");
  return outcome;
}

}  // namespace

TEST_CASE("four workers share --rpm and --tpm through Redis: every job completes, <=2% 429s, >=80% of the limit") {
  const auto outcome = run_fleet(true);
  CHECK(outcome.refused * 50 <= outcome.requests);
  CHECK(outcome.achieved >= 0.8);
  CHECK(outcome.achieved <= 1.0);
}

TEST_CASE("with no limit configured, the provider's x-ratelimit-* headers alone keep 429s under 5%") {
  const auto outcome = run_fleet(false);
  CHECK(outcome.refused * 20 < outcome.requests);
  CHECK(outcome.achieved <= 1.0);
}

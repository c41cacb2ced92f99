#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "tests/support/cli_env.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline::testing;
using nlohmann::json;

namespace {

const std::vector<std::string> k_stage_names = {"mechanisms", "signals", "lessons", "contextualize", "opportunities"};

std::vector<std::string> new_args(const CliEnv& env, const std::string& run_id) {
  return {"new", example_pdf_path(), "--brand", env.brand_path, "--run-id", run_id};
}

int stages_done(const json& checkpoint) {
  int done = 0;
  for (const auto& stage : checkpoint.at("stages")) done += stage.at("status") == "done";
  return done;
}

// Waits until the run's checkpoint says `stage` is running.
bool wait_for_stage_running(const CliEnv& env, const std::string& run_id, int stage) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (env.checkpoint(run_id).at("stages").at(stage - 1).at("status") == "running") return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Waits until the server has seen `count` chat requests.
bool wait_for_requests(const FakeLlmServer& server, int count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (server.request_count() < count) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Progress lines may come first; the error is one line, the last.
void check_last_line_is_the_error(const ProcessResult& result) {
  const auto lines = split_lines(result.err);
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.back().rfind("pipeline: error: ", 0) == 0);
  int errors = 0;
  for (const auto& line : lines) errors += line.find("pipeline: error:") != std::string::npos;
  CHECK(errors == 1);
}

}  // namespace

TEST_CASE("run does the whole chain; status, list, show and resume agree") {
  FakeLlmServer server;
  CliEnv env(server);
  auto result = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "full"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const auto opportunities = json::parse(env.read("full", "opportunities.json"));
  REQUIRE(opportunities.at("opportunities").size() == 5);
  for (int card = 1; card <= 5; ++card) {
    bool found = false;
    for (const auto& entry : std::filesystem::directory_iterator(env.runs_dir + "/full/cards")) {
      found = found || entry.path().filename().string().rfind(std::to_string(card) + "-", 0) == 0;
    }
    CHECK_MESSAGE(found, "card " << card);
  }
  CHECK(server.request_count() == k_requests_per_run);

  auto status = env.run({"status", "full", "--json"});
  REQUIRE(status.exit_code == 0);
  const auto state = json::parse(status.out);
  CHECK(state.at("status") == "completed");
  CHECK(stages_done(state) == 5);
  CHECK(state.at("usage").at("completion_tokens").get<long>() > 0);

  auto list = env.run({"list", "--json"});
  REQUIRE(list.exit_code == 0);
  CHECK(json::parse(list.out).at(0).at("run_id") == "full");

  auto show = env.run({"show", "full", "--stage", "mechanisms"});
  CHECK(show.exit_code == 0);
  CHECK_FALSE(show.out.empty());

  auto resume = env.run({"resume", "full"});
  CHECK(resume.exit_code == 0);
  CHECK(server.request_count() == k_requests_per_run);
}

TEST_CASE("stage commands one by one reach the same result as run, and refuse a stage whose inputs are not done") {
  FakeLlmServer server;
  CliEnv env(server);
  REQUIRE(env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "whole"}).exit_code == 0);
  REQUIRE(env.run(new_args(env, "steps")).exit_code == 0);

  auto early = env.run({"lessons", "steps"});
  CHECK(early.exit_code == 3);
  check_last_line_is_the_error(early);
  CHECK(early.err.find("pipeline mechanisms steps") != std::string::npos);

  for (const auto& name : k_stage_names) {
    auto step = env.run({name, "steps"});
    INFO(name << ": " << step.err);
    REQUIRE(step.exit_code == 0);
  }
  CHECK(env.read("steps", "opportunities.json") == env.read("whole", "opportunities.json"));
  CHECK(env.checkpoint("steps").at("status") == "completed");

  // `stage 2` redoes signals and leaves the later stages stale.
  REQUIRE(env.run({"stage", "2", "steps"}).exit_code == 0);
  const auto after = env.checkpoint("steps");
  CHECK(after.at("stages").at(2).at("status") == "stale");
  REQUIRE(env.run({"resume", "steps"}).exit_code == 0);
  CHECK(env.checkpoint("steps").at("status") == "completed");
}

TEST_CASE("kill test: SIGKILL at 20 random moments, resuming each time, gives the uninterrupted result") {
  FakeLlmServer server;
  server.set_pace({std::chrono::milliseconds(30), 4000});
  CliEnv env(server);
  env.disable_cache();

  // The kill moments scale with the time of an uninterrupted run. The
  // faster of two runs sets it: a load spike during one alone would make the
  // kills come after the resumes had finished.
  auto whole_ms = std::chrono::milliseconds::max();
  for (const std::string id : {"calm", "calm-again"}) {
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", id}).exit_code == 0);
    whole_ms = std::min(whole_ms, std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - start));
  }
  const auto expected = env.read("calm", "opportunities.json");
  REQUIRE(env.read("calm-again", "opportunities.json") == expected);

  // Each kill comes at a random moment between a quarter of a stage and a
  // bit more than one stage after the process starts, the bit sized so that
  // the stages still to do get done over the kills still to come: most kills
  // land mid-stage, some just after a stage finished, and the 20 kills
  // spread over the whole life of the run. Stage 5 keeps the cards finished
  // before a kill, so a run may need fewer than 20 invocations; when a busy
  // machine lets the resumes outrun the kills, another run is killed with
  // moments half as long, until 12 kills have landed.
  std::mt19937 random(20261129);
  int kills = 0;
  std::set<int> stages_killed_in;
  long stage_ms = std::max(20L, static_cast<long>(whole_ms.count() / 5));
  for (const std::string id : {"killed", "killed-again", "killed-third"}) {
    if (kills >= 12) break;
    REQUIRE(env.run(new_args(env, id)).exit_code == 0);
    const int base = server.request_count();
    std::map<std::string, int> requests_when_done;  // stage -> requests for it when first seen done
    int done = 0;
    for (int i = 0; i < 20 && done < 5; ++i) {
      const double share = static_cast<double>(5 - done) / (20 - i);
      std::uniform_int_distribution<long> moment(stage_ms / 4, static_cast<long>(stage_ms * (0.9 + 1.2 * share)));
      auto process = env.start({"resume", id});
      std::this_thread::sleep_for(std::chrono::milliseconds(moment(random)));
      process.send_signal(SIGKILL);
      auto ended = process.wait();
      kills += ended.term_signal == SIGKILL;

      auto status = env.run({"status", id, "--json"});
      INFO(id << " after kill " << i << ": " << status.err);
      REQUIRE(status.exit_code == 0);
      const auto checkpoint = json::parse(status.out);
      auto counts = requests_per_stage(server);
      done = 0;
      for (const auto& stage : checkpoint.at("stages")) {
        const auto name = stage.at("name").get<std::string>();
        done += stage.at("status") == "done";
        if (stage.at("status") == "done" && !requests_when_done.count(name)) requests_when_done[name] = counts[name];
        if (stage.at("status") == "running") stages_killed_in.insert(stage.at("number").get<int>());
      }
    }
    auto finish = env.run({"resume", id});
    INFO(finish.err);
    REQUIRE(finish.exit_code == 0);
    CHECK(env.checkpoint(id).at("status") == "completed");
    CHECK(env.run({"show", id}).exit_code == 0);
    CHECK(env.read(id, "opportunities.json") == expected);
    const auto counts = requests_per_stage(server);
    for (const auto& [name, count] : requests_when_done) {
      CHECK_MESSAGE(counts.at(name) == count, "stage " << name << " of " << id << " was requested again after it was done");
    }
    CHECK(server.request_count() > base);
    stage_ms = std::max(20L, stage_ms / 2);
  }
  MESSAGE("kills that landed: " << kills << ", in stages " << stages_killed_in.size());
  CHECK(kills >= 12);
  CHECK(stages_killed_in.size() >= 3);
}

TEST_CASE("repeated resume --deadline calls finish a run whose stages fit; a stage that never fits stops the loop") {
  FakeLlmServer server;
  server.set_pace({std::chrono::milliseconds(350), 0});
  CliEnv env(server);
  env.disable_cache();
  REQUIRE(env.run(new_args(env, "budget")).exit_code == 0);
  int invocations = 0;
  int last = -1;
  while (invocations < 12) {
    auto result = env.run({"resume", "budget", "--deadline", "1s"});
    ++invocations;
    last = result.exit_code;
    if (last != 75) break;
    check_last_line_is_the_error(result);
    CHECK(result.err.find("pipeline resume budget") != std::string::npos);
  }
  CHECK(last == 0);
  CHECK(invocations >= 2);
  CHECK(env.checkpoint("budget").at("status") == "completed");

  server.set_pace({std::chrono::milliseconds(6000), 0});
  REQUIRE(env.run(new_args(env, "tight")).exit_code == 0);
  const auto started = std::chrono::steady_clock::now();
  auto first = env.run({"resume", "tight", "--deadline", "500ms"});
  CHECK(first.exit_code == 75);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  auto second = env.run({"resume", "tight", "--deadline", "500ms"});
  CHECK(second.exit_code == 6);
  check_last_line_is_the_error(second);
  CHECK(second.err.find("deadline") != std::string::npos);
}

TEST_CASE("SIGTERM and SIGINT abandon the call in flight, save, and exit 143 or 130; resume redoes only that stage") {
  FakeLlmServer server;
  server.set_pace({std::chrono::milliseconds(10000), 0});
  CliEnv env(server);
  REQUIRE(env.run(new_args(env, "signal")).exit_code == 0);

  int sent_requests = 0;
  for (const auto& [signal, code] : std::vector<std::pair<int, int>>{{SIGTERM, 143}, {SIGINT, 130}}) {
    auto process = env.start({"resume", "signal"});
    REQUIRE(wait_for_stage_running(env, "signal", 1));
    ++sent_requests;
    REQUIRE(wait_for_requests(server, sent_requests));
    const auto sent = std::chrono::steady_clock::now();
    process.send_signal(signal);
    auto result = process.wait(std::chrono::seconds(10));
    CHECK(std::chrono::steady_clock::now() - sent < std::chrono::seconds(5));
    CHECK(result.exit_code == code);
    check_last_line_is_the_error(result);
    const auto checkpoint = env.checkpoint("signal");
    CHECK(checkpoint.at("status") == "incomplete");
    CHECK(checkpoint.at("stages").at(0).at("status") == "pending");
  }
  server.set_pace({});
  REQUIRE(env.run({"resume", "signal"}).exit_code == 0);
  CHECK(requests_per_stage(server).at("mechanisms") == 3);
  CHECK(requests_per_stage(server).at("signals") == 1);
}

TEST_CASE("a second process on a locked run gets exit 5 naming the holder") {
  FakeLlmServer server;
  server.set_pace({std::chrono::milliseconds(10000), 0});
  CliEnv env(server);
  REQUIRE(env.run(new_args(env, "locked")).exit_code == 0);
  auto holder = env.start({"resume", "locked"});
  REQUIRE(wait_for_stage_running(env, "locked", 1));
  REQUIRE(wait_for_requests(server, 1));
  auto second = env.run({"resume", "locked"});
  CHECK(second.exit_code == 5);
  check_last_line_is_the_error(second);
  CHECK(second.err.find(std::to_string(holder.pid())) != std::string::npos);
  holder.send_signal(SIGTERM);
  CHECK(holder.wait().exit_code == 143);
}

TEST_CASE("a corrupted checkpoint or edited artifact is reported with exit 3 and left untouched") {
  FakeLlmServer server;
  CliEnv env(server);
  REQUIRE(env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "good"}).exit_code == 0);
  const std::string path = env.runs_dir + "/good/checkpoint.json";
  const std::string original = env.read("good", "checkpoint.json");
  for (size_t cut : {size_t{0}, size_t{1}, original.size() / 3, original.size() / 2, original.size() - 2}) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << original.substr(0, cut);
    for (const auto& command : {std::vector<std::string>{"status", "good"}, std::vector<std::string>{"resume", "good"}}) {
      auto result = env.run(command);
      INFO("cut at " << cut << ": " << result.err);
      CHECK(result.exit_code == 3);
      check_last_line_is_the_error(result);
      CHECK(env.read("good", "checkpoint.json") == original.substr(0, cut));
    }
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc) << original;
  std::ofstream(env.runs_dir + "/good/stages/02-signals.json", std::ios::app) << " ";
  auto edited = env.run({"resume", "good"});
  CHECK(edited.exit_code == 3);
  CHECK(edited.err.find("02-signals.json") != std::string::npos);
}

TEST_CASE("retry storms of 429s, cuts and stalls still complete the run") {
  FakeLlmServer server;
  CliEnv env(server);
  ScriptedReply rate_limited;
  rate_limited.fault = FaultKind::http_status;
  rate_limited.status = 429;
  rate_limited.retry_after = "0";
  ScriptedReply unavailable;
  unavailable.fault = FaultKind::http_status;
  unavailable.status = 503;
  ScriptedReply cut;
  cut.fault = FaultKind::cut_mid_stream;
  ScriptedReply stall;
  stall.fault = FaultKind::stall_keepalive;
  stall.stall = std::chrono::milliseconds(3000);
  ScriptedReply error_chunk;
  error_chunk.fault = FaultKind::error_chunk_openrouter;
  for (const auto& reply : {rate_limited, unavailable, cut, stall, error_chunk}) server.enqueue(reply);
  auto result = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "storm",
                         "--first-token-timeout", "1", "--max-retries", "6", "--json"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(server.request_count() == k_requests_per_run + 5);
  int retries = 0;
  for (const auto& line : split_lines(result.out)) retries += json::parse(line).at("event") == "stage_retry";
  CHECK(retries == 5);
}

TEST_CASE("a refused key is a provider error, exit 4, and the key appears nowhere") {
  FakeLlmServer server;
  CliEnv env(server);
  env.disable_cache();
  auto ok = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "secret", "--json"});
  REQUIRE(ok.exit_code == 0);
  server.require_key("another-key");
  REQUIRE(env.run(new_args(env, "refused")).exit_code == 0);
  auto refused = env.run({"resume", "refused", "--verbose"});
  CHECK(refused.exit_code == 4);
  for (const auto& text : {ok.out, ok.err, refused.out, refused.err, env.all_run_files()}) {
    CHECK(text.find(k_secret_key) == std::string::npos);
  }
}

TEST_CASE("--json prints the run's events as NDJSON, ending with run_finished and its totals") {
  FakeLlmServer server;
  CliEnv env(server);
  auto result = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "events", "--json"});
  REQUIRE(result.exit_code == 0);
  std::vector<std::string> kinds;
  json last;
  for (const auto& line : split_lines(result.out)) {
    last = json::parse(line);
    kinds.push_back(last.at("event"));
    CHECK(last.at("run_id") == "events");
  }
  // One stage_part_done per model request: at least one per stage.
  const auto parts = std::count(kinds.begin(), kinds.end(), "stage_part_done");
  CHECK(parts >= 5);
  REQUIRE(kinds.size() == 12 + static_cast<std::size_t>(parts));
  CHECK(kinds.front() == "run_started");
  CHECK(std::count(kinds.begin(), kinds.end(), "stage_started") == 5);
  CHECK(std::count(kinds.begin(), kinds.end(), "stage_done") == 5);
  CHECK(last.at("status") == "completed");
  CHECK(last.at("usage").at("completion_tokens").get<long>() > 0);
  CHECK(last.at("usage").at("cost_usd").get<double>() > 0);
  CHECK(std::find(last.at("artifacts").begin(), last.at("artifacts").end(), "opportunities.json") !=
        last.at("artifacts").end());
  // The event log on disk has the same events.
  CHECK(split_lines(env.read("events", "events.ndjson")).size() == kinds.size());
}

TEST_CASE("a run recorded with --record replays with --replay and no network; an unseen request fails") {
  FakeLlmServer server;
  CliEnv env(server);
  const std::string recordings = env.dir / "recordings";
  REQUIRE(env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "recorded", "--record",
                   recordings})
              .exit_code == 0);
  CHECK(std::distance(std::filesystem::directory_iterator(recordings), std::filesystem::directory_iterator()) ==
        k_requests_per_run);

  CliEnv offline(server);
  offline.options.env["PIPELINE_BASE_URL"] = "http://127.0.0.1:9/v1";  // nothing listens there
  offline.options.env["PIPELINE_RUNS_DIR"] = env.runs_dir;
  offline.options.env["PIPELINE_API_KEY"] = "";
  const int before = server.request_count();
  auto replayed = offline.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "replayed",
                               "--replay", recordings});
  INFO(replayed.err);
  REQUIRE(replayed.exit_code == 0);
  CHECK(server.request_count() == before);
  CHECK(env.read("replayed", "opportunities.json") == env.read("recorded", "opportunities.json"));

  auto unseen = offline.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "unseen", "--replay",
                             recordings, "--set", "mechanisms.temperature=0.9"});
  CHECK(unseen.exit_code == 3);
  CHECK(unseen.err.find("no recording") != std::string::npos);
  CHECK(env.all_run_files().find(k_secret_key) == std::string::npos);
}

TEST_CASE("resume --from redoes that stage and every one after it; a copied run folder resumes elsewhere") {
  FakeLlmServer server;
  CliEnv env(server);
  REQUIRE(env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "again"}).exit_code == 0);
  auto redo = env.run({"resume", "again", "--from", "lessons"});
  INFO(redo.err);
  REQUIRE(redo.exit_code == 0);
  auto counts = requests_per_stage(server);
  CHECK(counts["mechanisms"] == 1);
  CHECK(counts["signals"] == 1);
  CHECK(counts["lessons"] == 2);
  CHECK(counts["opportunities"] == 2 * 6);
  CHECK(env.run({"resume", "again", "--from", "seven"}).exit_code == 2);

  // A run created here, carried to another runs folder (another machine), finishes there.
  REQUIRE(env.run(new_args(env, "travels")).exit_code == 0);
  REQUIRE(env.run({"mechanisms", "travels"}).exit_code == 0);
  TempDir elsewhere;
  std::filesystem::copy(env.runs_dir + "/travels", elsewhere / "travels", std::filesystem::copy_options::recursive);
  std::filesystem::remove_all(env.runs_dir + "/travels");
  auto moved = env.run({"resume", "travels", "--runs-dir", elsewhere.path()});
  INFO(moved.err);
  REQUIRE(moved.exit_code == 0);
  const auto status = env.run({"status", "travels", "--json", "--runs-dir", elsewhere.path()});
  CHECK(json::parse(status.out).at("status") == "completed");
}

TEST_CASE("without a cost from the provider, cost comes from --prices or stays unknown, never invented") {
  FakeLlmServer server;
  server.set_report_cost(false);
  CliEnv env(server);
  env.disable_cache();
  auto unpriced = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "unpriced", "--json"});
  REQUIRE(unpriced.exit_code == 0);
  const auto unknown = json::parse(split_lines(unpriced.out).back());
  CHECK(unknown.at("usage").at("cost_usd").is_null());
  CHECK(unknown.at("usage").at("prompt_tokens").get<long>() > 0);

  auto priced = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "priced", "--json",
                         "--prices", "test-model=1000,2000"});
  REQUIRE(priced.exit_code == 0);
  const auto usage = json::parse(split_lines(priced.out).back()).at("usage");
  CHECK(usage.at("prompt_tokens").get<long>() > 0);
  const double expected = usage.at("prompt_tokens").get<double>() * 1000 / 1e6 +
                          usage.at("completion_tokens").get<double>() * 2000 / 1e6;
  CHECK(usage.at("cost_usd").get<double>() == doctest::Approx(expected));
}

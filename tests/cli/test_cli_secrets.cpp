// Secrets never show: every command, with --verbose and with --json, while a
// provider echoes the Authorization header back in its errors, leaves no
// secret in its output or in any file it wrote (runs, checkpoints, events,
// the stage cache, recordings, temporary files, the home folder). Where one
// must be named it is masked (doctor: "sk-test-...9d1e4b" style).

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/fake_server/fake_llm_server.hpp"
#include "tests/support/cli_env.hpp"
#include "tests/support/process.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline::testing;
namespace fs = std::filesystem;

namespace {

// A secret set in the environment of every command, and the part of its
// value that must never be shown. Add one line here for each new secret.
struct WatchedSecret {
  std::string variable;
  std::string value;
  std::string secret;
};

std::vector<WatchedSecret> watched_secrets() {
  return {
      {"PIPELINE_API_KEY", k_secret_key, k_secret_key},
      // Keys that lose to PIPELINE_API_KEY must not show either.
      {"OPENROUTER_API_KEY", "sk-or-v1-UNUSED-openrouter-5d1c8e", "UNUSED-openrouter-5d1c8e"},
      {"OPENAI_API_KEY", "sk-UNUSED-openai-key-93be21", "UNUSED-openai-key-93be21"},
      {"PIPELINE_WEBHOOK_SECRET", "whsec-SECRET-webhook-0c4f8a", "SECRET-webhook-0c4f8a"},
  };
}

// Everything one command printed, with the command for the failure message.
struct Printed {
  std::string command;
  std::string text;
};

std::string read_any_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

ScriptedReply echoing(int status) {
  ScriptedReply reply;
  reply.fault = FaultKind::echo_authorization;
  reply.status = status;
  return reply;
}

// Runs commands in one environment and keeps what they printed.
class SecretsSession {
 public:
  // The stage cache is on, so that it is written and searched too; runs
  // that must reach the provider pass --no-cache.
  explicit SecretsSession(FakeLlmServer& server) : m_env(server) {
    for (const auto& watched : watched_secrets()) m_env.options.env[watched.variable] = watched.value;
    for (const char* folder : {"home", "tmp"}) fs::create_directories(m_env.dir / folder);
    m_env.options.env["HOME"] = m_env.dir / "home";
    m_env.options.env["TMPDIR"] = m_env.dir / "tmp";
    m_env.options.env["XDG_CACHE_HOME"] = m_env.dir / "home/.cache";
  }

  CliEnv& env() { return m_env; }
  std::string recordings() const { return m_env.dir / "recordings"; }

  // Runs `args` once with --verbose and once with --verbose --json; returns
  // the exit codes.
  std::vector<int> both_ways(std::vector<std::string> args) {
    std::vector<int> codes;
    args.push_back("--verbose");
    codes.push_back(once(args));
    args.push_back("--json");
    codes.push_back(once(args));
    return codes;
  }

  int once(const std::vector<std::string>& args) {
    std::string command = "pipeline";
    for (const auto& arg : args) command += " " + arg;
    const auto result = m_env.run(args);
    m_printed.push_back({command, result.out + result.err});
    return result.exit_code;
  }

  // How many commands printed `text`.
  int printed_containing(const std::string& text) const {
    int count = 0;
    for (const auto& printed : m_printed) count += printed.text.find(text) != std::string::npos;
    return count;
  }

  // Fails for every secret found in the output or under the test's folder.
  void check_nothing_leaked() const {
    std::vector<Printed> everything = m_printed;
    for (const auto& entry : fs::recursive_directory_iterator(m_env.dir.path())) {
      if (entry.is_regular_file()) everything.push_back({"file " + entry.path().string(), read_any_file(entry.path())});
    }
    CHECK(everything.size() > m_printed.size() + 20);
    for (const auto& watched : watched_secrets()) {
      for (const auto& printed : everything) {
        INFO(printed.command);
        INFO(printed.text.substr(0, 2000));
        INFO(watched.variable << " must not appear");
        CHECK(printed.text.find(watched.secret) == std::string::npos);
      }
    }
  }

 private:
  CliEnv m_env;
  std::vector<Printed> m_printed;
};

}  // namespace

TEST_CASE("no secret appears in any command's output or file, even when the provider echoes the key") {
  FakeLlmServer server;
  SecretsSession session(server);
  CliEnv& env = session.env();
  const std::string pdf = example_pdf_path();
  const std::string record = session.recordings();

  // Doctor names the key masked; with --ping an echoing provider refuses it.
  CHECK(session.both_ways({"doctor"}) == std::vector<int>{0, 0});
  CHECK(session.both_ways({"doctor", "--ping"}) == std::vector<int>{0, 0});
  server.enqueue(echoing(401));
  server.enqueue(echoing(401));
  CHECK(session.both_ways({"doctor", "--ping"}) != std::vector<int>{0, 0});

  CHECK(session.both_ways({"--help"}) == std::vector<int>{0, 0});
  CHECK(session.both_ways({"brands", "list"}) == std::vector<int>{0, 0});
  CHECK(session.both_ways({"brands", "show", env.brand_path}) == std::vector<int>{0, 0});
  CHECK(session.both_ways({"brands", "validate", env.brand_path}) == std::vector<int>{0, 0});
  CHECK(session.both_ways({"extract", pdf}) == std::vector<int>{0, 0});

  // new, then each stage on its own, recorded.
  CHECK(session.once({"new", pdf, "--brand", env.brand_path, "--run-id", "staged", "--verbose"}) == 0);
  CHECK(session.once({"new", pdf, "--brand", env.brand_path, "--run-id", "staged-json", "--verbose", "--json"}) == 0);
  for (const char* stage : {"mechanisms", "signals", "lessons", "contextualize", "opportunities"}) {
    CHECK(session.once({stage, "staged", "--verbose", "--record", record}) == 0);
    CHECK(session.once({stage, "staged-json", "--verbose", "--json", "--record", record}) == 0);
  }

  // Whole runs, recorded, then replayed from the recordings.
  CHECK(session.once({"run", pdf, "--brand", env.brand_path, "--run-id", "whole", "--verbose", "--record", record}) ==
        0);
  CHECK(session.once({"run", pdf, "--brand", env.brand_path, "--run-id", "whole-json", "--verbose", "--json",
                      "--record", record}) == 0);
  CHECK(session.both_ways({"run", pdf, "--brand", env.brand_path, "--replay", record, "--no-cache"}) ==
        std::vector<int>{0, 0});

  // The provider refuses with the key in its words: exit 4, then resume.
  server.enqueue(echoing(401));
  CHECK(session.once({"run", pdf, "--brand", env.brand_path, "--run-id", "refused", "--verbose", "--record", record,
                      "--no-cache"}) == 4);
  server.enqueue(echoing(403));
  CHECK(session.once({"resume", "refused", "--verbose", "--json", "--record", record, "--no-cache"}) == 4);
  server.enqueue(echoing(400));
  session.once({"resume", "refused", "--verbose", "--no-cache"});
  CHECK(session.both_ways({"status", "refused"}) == std::vector<int>{0, 0});
  CHECK(session.once({"resume", "refused", "--verbose", "--json", "--no-cache"}) == 0);

  // Echoed in transient errors: retried (each retry said with --verbose), then given up.
  server.enqueue(echoing(500));
  server.enqueue(echoing(503));
  CHECK(session.once({"run", pdf, "--brand", env.brand_path, "--run-id", "retried", "--verbose", "--json",
                      "--max-retries", "2", "--no-cache"}) == 0);
  for (int i = 0; i < 3; ++i) server.enqueue(echoing(502));
  CHECK(session.once({"run", pdf, "--brand", env.brand_path, "--run-id", "gave-up", "--verbose", "--max-retries",
                      "2", "--no-cache"}) == 75);
  CHECK(session.both_ways({"resume", "gave-up"}) == std::vector<int>{0, 0});

  // What people read afterwards.
  CHECK(session.both_ways({"status", "whole"}) == std::vector<int>{0, 0});
  CHECK(session.both_ways({"list"}) == std::vector<int>{0, 0});
  CHECK(session.both_ways({"show", "whole"}) == std::vector<int>{0, 0});
  CHECK(session.both_ways({"show", "whole", "--stage", "5"}) == std::vector<int>{0, 0});

  // Reports rendered again, to stdout and to a file; a PDF's streams are
  // compressed, so its text is read back with extract to be searched too.
  for (const std::string format : {"html", "md", "pdf"}) {
    CHECK(session.both_ways({"report", "whole", "--format", format}) == std::vector<int>{0, 0});
    CHECK(session.both_ways({"report", "whole-json", "--format", format, "-o", env.dir / ("report." + format)}) ==
          std::vector<int>{0, 0});
  }
  CHECK(session.once({"extract", env.dir / "report.pdf", "--verbose"}) == 0);

  // Two runs compared, with the page that sets their cards side by side.
  CHECK(session.once({"compare", "whole", "whole-json", "--verbose", "--html", env.dir / "compare.html"}) == 0);
  CHECK(session.once({"compare", "whole", "whole-json", "--verbose", "--json", "--html",
                      env.dir / "compare-json.html"}) == 0);

  // The Redis URL's password, with the queue's commands (submit, worker, jobs,
  // queue) and every value they leave in Redis, is watched by the test "the
  // queue's commands never show the Redis password ..." in test_cli_worker.cpp,
  // which has the redis-server these commands need.

  // A batch, its status, and a resume of it.
  CHECK(session.once({"batch", pdf, "--brand", env.brand_path, "--batch-id", "several", "--jobs", "1", "--verbose",
                      "--record", record}) == 0);
  server.enqueue(echoing(401));
  CHECK(session.once({"batch", pdf, "--brand", env.brand_path, "--batch-id", "several-json", "--jobs", "1",
                      "--verbose", "--json", "--no-cache"}) != 0);
  CHECK(session.both_ways({"status", "several-json"}) == std::vector<int>{0, 0});
  CHECK(session.both_ways({"resume", "several-json"}) == std::vector<int>{0, 0});

  // Doctor shows which key it found, masked.
  // Doctor names the key it found, masked: the vendor prefix and the last four characters.
  const auto doctor = env.run({"doctor", "--json"});
  const std::string key = k_secret_key;
  bool named = false;
  const auto report = nlohmann::json::parse(doctor.out);
  for (const auto& check : report.at("checks")) {
    if (check.at("name").get<std::string>() != "api_key") continue;
    named = true;
    CHECK(check.at("data").at("source").get<std::string>() == "PIPELINE_API_KEY");
    const std::string masked = check.at("data").at("masked");
    CHECK(masked == "sk-..." + key.substr(key.size() - 4));
  }
  CHECK(named);

  // The provider's echoes reached the output, masked: the test saw what it guards against.
  CHECK(session.printed_containing("Incorrect API key provided: sk-...") > 0);

  session.check_nothing_leaked();
}

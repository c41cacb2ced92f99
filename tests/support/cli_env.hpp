#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/fake_server/fake_llm_server.hpp"
#include "tests/support/process.hpp"

namespace pipeline::testing {

// A distinctive API key that must never show up in any output or file.
inline constexpr const char* k_secret_key = "sk-test-SECRET-7f2c9d1e4b";

// The environment of the `pipeline` binary in CLI tests: the fake server as
// provider, runs, brands and the stage cache in a temporary folder, the
// secret key set.
struct CliEnv {
  explicit CliEnv(FakeLlmServer& server);
  TempDir dir;
  std::string runs_dir;
  std::string brand_path;
  ProcessOptions options;

  // For tests about doing work again (resume, kills, retries): every run
  // asks the model, as with --no-cache.
  void disable_cache() { options.env["PIPELINE_NO_CACHE"] = "1"; }

  ProcessResult run(const std::vector<std::string>& args) const;
  Process start(const std::vector<std::string>& args) const;
  nlohmann::json checkpoint(const std::string& run_id) const;
  std::string read(const std::string& run_id, const std::string& path) const;
  // Every byte of every file under the runs folder, concatenated.
  std::string all_run_files() const;
};

// How many chat requests the server saw for each schema name (mechanisms,
// mechanisms_merge, ...); stage 5's one schema is counted by the step its
// request part asks for, as opportunities_plan and opportunity_card.
std::map<std::string, int> requests_per_schema(const FakeLlmServer& server);

// The same, added up per stage name (mechanisms ... opportunities).
std::map<std::string, int> requests_per_stage(const FakeLlmServer& server);

// Model requests of a whole run of a short document: one for each of stages
// 1 to 4, and for stage 5 a plan and five cards.
inline constexpr int k_requests_per_run = 10;

}  // namespace pipeline::testing

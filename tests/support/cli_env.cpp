#include "tests/support/cli_env.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/run_fixture.hpp"

namespace pipeline::testing {
namespace {

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

CliEnv::CliEnv(FakeLlmServer& server) : runs_dir(dir / "runs") {
  brand_path = write_test_brand(dir.path(), "test-dairy", "Testmark Dairy Cooperative");
  options.env = {{"PIPELINE_BASE_URL", server.base_url()},
                 {"PIPELINE_MODEL", "test-model"},
                 {"PIPELINE_API_KEY", k_secret_key},
                 {"PIPELINE_RUNS_DIR", runs_dir},
                 {"PIPELINE_CACHE_DIR", dir / "cache"},
                 {"OPENROUTER_API_KEY", ""},
                 {"OPENAI_API_KEY", ""}};
  server.require_key(k_secret_key);
}

ProcessResult CliEnv::run(const std::vector<std::string>& args) const { return run_pipeline(args, options); }

Process CliEnv::start(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{pipeline_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return Process(argv, options);
}

nlohmann::json CliEnv::checkpoint(const std::string& run_id) const {
  return nlohmann::json::parse(slurp(runs_dir + "/" + run_id + "/checkpoint.json"));
}

std::string CliEnv::read(const std::string& run_id, const std::string& path) const {
  return slurp(runs_dir + "/" + run_id + "/" + path);
}

std::string CliEnv::all_run_files() const {
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(runs_dir)) {
    if (entry.is_regular_file()) all += slurp(entry.path());
  }
  return all;
}

std::map<std::string, int> requests_per_schema(const FakeLlmServer& server) {
  std::map<std::string, int> counts;
  for (const auto& request : server.requests()) {
    auto name = request.value("/response_format/json_schema/name"_json_pointer, std::string("?"));
    // Stage 5's plan and cards share one schema, and a card continues the
    // plan's conversation: a request that asks for a card anywhere is a card's.
    if (name == "opportunities_step") {
      const auto& messages = request.value("messages", nlohmann::json::array());
      const bool card = std::any_of(messages.begin(), messages.end(), [](const nlohmann::json& message) {
        return message.value("role", std::string()) == "user" &&
               message.value("content", nlohmann::json()).dump().find("Fill `card`") != std::string::npos;
      });
      name = card ? "opportunity_card" : "opportunities_plan";
    }
    counts[name] += 1;
  }
  return counts;
}

std::map<std::string, int> requests_per_stage(const FakeLlmServer& server) {
  const std::map<std::string, std::string> stage_of = {{"mechanisms_merge", "mechanisms"},
                                                       {"opportunities_plan", "opportunities"},
                                                       {"opportunity_card", "opportunities"}};
  std::map<std::string, int> counts;
  for (const auto& [schema, count] : requests_per_schema(server)) {
    auto it = stage_of.find(schema);
    counts[it == stage_of.end() ? schema : it->second] += count;
  }
  return counts;
}

}  // namespace pipeline::testing

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/cli_env.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline::testing;
using nlohmann::json;

namespace {

// Schema names of the requests the server saw after the first `from` ones.
std::map<std::string, int> requests_since(const FakeLlmServer& server, std::size_t from) {
  std::map<std::string, int> counts;
  const auto requests = server.requests();
  for (std::size_t i = from; i < requests.size(); ++i) {
    counts[requests[i].value("/response_format/json_schema/name"_json_pointer, std::string("?"))] += 1;
  }
  return counts;
}

std::vector<std::string> run_args(const std::string& brand, const std::string& run_id) {
  return {"run", example_pdf_path(), "--brand", brand, "--run-id", run_id};
}

std::vector<std::filesystem::path> cache_entries(const CliEnv& env) {
  std::vector<std::filesystem::path> entries;
  const std::filesystem::path dir = env.dir / "cache";
  if (!std::filesystem::exists(dir)) return entries;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") entries.push_back(entry.path());
  }
  return entries;
}

}  // namespace

TEST_CASE("a second brand on the same document asks the model only for stages 4 and 5") {
  FakeLlmServer server;
  CliEnv env(server);
  const auto other_brand = write_test_brand(env.dir.path(), "other-brand", "Othermark Foods");
  auto first = env.run(run_args(env.brand_path, "first-brand"));
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  const auto before = static_cast<std::size_t>(server.request_count());
  CHECK(cache_entries(env).size() == 5);

  auto second = env.run(run_args(other_brand, "second-brand"));
  INFO(second.err);
  REQUIRE(second.exit_code == 0);
  const auto counts = requests_since(server, before);
  CHECK(counts.count("mechanisms") == 0);
  CHECK(counts.count("signals") == 0);
  CHECK(counts.count("lessons") == 0);
  CHECK(counts.at("contextualize") == 1);
  int stage5 = 0;
  for (const auto& [name, count] : counts) stage5 += name.rfind("opportunit", 0) == 0 ? count : 0;
  CHECK(stage5 >= 1);
  CHECK(server.request_count() - before == 1 + stage5);

  const auto checkpoint = env.checkpoint("second-brand");
  for (int stage = 1; stage <= 5; ++stage) {
    const auto& record = checkpoint.at("stages").at(stage - 1);
    CAPTURE(stage);
    CHECK(record.at("status") == "done");
    CHECK(record.at("cached") == (stage <= 3));
    if (stage <= 3) {
      CHECK(record.at("usage").at("cost_usd").get<double>() == 0.0);
      CHECK(record.at("usage").at("prompt_tokens") == 0);
    } else {
      CHECK(record.at("usage").at("cost_usd").get<double>() > 0.0);
    }
  }
  // The shared stages are the same files; the brand's cards differ.
  CHECK(env.read("second-brand", "stages/01-mechanisms.json") == env.read("first-brand", "stages/01-mechanisms.json"));
  CHECK(env.read("second-brand", "opportunities.json") != env.read("first-brand", "opportunities.json"));
  auto status = env.run({"status", "second-brand"});
  CHECK(status.out.find("done (cached)") != std::string::npos);
}

TEST_CASE("the same command twice asks the model nothing the second time; --no-cache asks again") {
  FakeLlmServer server;
  CliEnv env(server);
  REQUIRE(env.run(run_args(env.brand_path, "once")).exit_code == 0);
  const int after_first = server.request_count();
  CHECK(after_first >= 5);

  auto again = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "twice", "--json"});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(server.request_count() == after_first);
  CHECK(env.read("twice", "opportunities.json") == env.read("once", "opportunities.json"));
  CHECK(env.read("twice", "report.md").find("twice") != std::string::npos);
  const auto finished = json::parse(split_lines(again.out).back());
  CHECK(finished.at("status") == "completed");
  CHECK(finished.at("usage").at("cost_usd").get<double>() == 0.0);
  int cached_events = 0;
  for (const auto& line : split_lines(again.out)) {
    const auto event = json::parse(line);
    if (event.at("event") == "stage_done") cached_events += event.at("cached") == true;
  }
  CHECK(cached_events == 5);

  REQUIRE(env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "uncached", "--no-cache"})
              .exit_code == 0);
  CHECK(server.request_count() >= 2 * after_first);
  const auto uncached = env.checkpoint("uncached");
  for (const auto& stage : uncached.at("stages")) CHECK(stage.at("cached") == false);
}

TEST_CASE("a damaged cache entry is not trusted: the stage asks the model and the entry is rewritten") {
  FakeLlmServer server;
  CliEnv env(server);
  REQUIRE(env.run(run_args(env.brand_path, "fill")).exit_code == 0);
  const int filled = server.request_count();
  // Change one character of every entry's output without updating its hash.
  for (const auto& path : cache_entries(env)) {
    auto entry = json::parse(std::ifstream(path));
    auto output = entry.at("output").get<std::string>();
    output.insert(output.find('{') + 1, " ");
    entry["output"] = output;
    std::ofstream(path) << entry.dump();
  }
  auto result = env.run(run_args(env.brand_path, "refill"));
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(server.request_count() == 2 * filled);
  const auto refilled = env.checkpoint("refill");
  for (const auto& stage : refilled.at("stages")) CHECK(stage.at("cached") == false);
  // Rewritten whole: the next run reuses every stage.
  REQUIRE(env.run(run_args(env.brand_path, "reuse")).exit_code == 0);
  CHECK(server.request_count() == 2 * filled);
}

TEST_CASE("failed and truncated answers are never cached") {
  FakeLlmServer server;
  CliEnv env(server);
  ScriptedReply truncated;
  truncated.fault = FaultKind::truncated;
  truncated.match = "\"name\":\"signals\"";
  server.enqueue(truncated);
  auto failed = env.run(run_args(env.brand_path, "cut"));
  CHECK(failed.exit_code == 1);
  // Only stage 1 finished; stage 2's cut answer left nothing behind.
  CHECK(cache_entries(env).size() == 1);
  const int before = server.request_count();
  auto resumed = env.run({"resume", "cut"});
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  const auto counts = requests_since(server, static_cast<std::size_t>(before));
  CHECK(counts.count("mechanisms") == 0);
  CHECK(counts.at("signals") == 1);
  CHECK(cache_entries(env).size() == 5);
}

TEST_CASE("--cache-dir and PIPELINE_CACHE_DIR choose the folder; the key stays out of it") {
  FakeLlmServer server;
  CliEnv env(server);
  const std::string elsewhere = env.dir / "elsewhere";
  REQUIRE(env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "placed", "--cache-dir",
                   elsewhere})
              .exit_code == 0);
  CHECK(cache_entries(env).empty());
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(elsewhere)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    std::ifstream in(entry.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text.find(k_secret_key) == std::string::npos);
  }
  CHECK(files == 5);
}

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "checkpoints/stage_cache.hpp"
#include "lib/util/file_io.hpp"
#include "lib/util/sha256.hpp"
#include "lib/util/time.hpp"
#include "tests/support/process.hpp"
#include "tests/support/stage_cache_checks.hpp"

using namespace pipeline;
using checkpoints::CachedStage;

TEST_CASE("both backends keep and give back entries by fingerprint") {
  testing::TempDir dir;
  auto files = checkpoints::make_file_stage_cache(dir / "cache");
  testing::check_stage_cache_round_trip(*files);
  CHECK(files->location() == dir / "cache");
  auto memory = checkpoints::make_memory_stage_cache();
  testing::check_stage_cache_round_trip(*memory);
}

TEST_CASE("the file cache spreads entries over two-digit folders and never trusts a damaged one") {
  testing::TempDir dir;
  auto cache = checkpoints::make_file_stage_cache(dir / "cache");
  const auto entry = testing::sample_cache_entry("damaged");
  REQUIRE(cache->put(entry));
  const std::filesystem::path path =
      std::filesystem::path(dir / "cache") / entry.fingerprint.substr(0, 2) / (entry.fingerprint + ".json");
  REQUIRE(std::filesystem::exists(path));

  auto json = nlohmann::json::parse(*util::read_file(path));
  json["output"] = R"({"answer": "forged"})";
  std::ofstream(path) << json.dump();
  CHECK_FALSE(cache->find(entry.fingerprint));

  // An entry stored under another fingerprint's name is not an answer for it.
  auto moved = testing::sample_cache_entry("elsewhere");
  REQUIRE(cache->put(moved));
  const std::filesystem::path moved_path =
      std::filesystem::path(dir / "cache") / moved.fingerprint.substr(0, 2) / (moved.fingerprint + ".json");
  std::filesystem::copy_file(moved_path, path, std::filesystem::copy_options::overwrite_existing);
  CHECK_FALSE(cache->find(entry.fingerprint));

  std::ofstream(path) << "{\"fingerprint\": ";
  CHECK_FALSE(cache->find(entry.fingerprint));
  // The next put repairs it.
  REQUIRE(cache->put(entry));
  CHECK(cache->find(entry.fingerprint));
}

TEST_CASE("an unwritable cache folder fails put, not find") {
  testing::TempDir dir;
  std::ofstream(dir / "file") << "x";
  auto cache = checkpoints::make_file_stage_cache(std::filesystem::path(dir / "file") / "cache");
  CHECK_FALSE(cache->find(testing::sample_cache_entry("x").fingerprint));
  auto put = cache->put(testing::sample_cache_entry("x"));
  REQUIRE_FALSE(put);
  CHECK(put.error().message.find("stage cache") != std::string::npos);
}

TEST_CASE("the file cache takes concurrent puts and finds") {
  testing::TempDir dir;
  auto cache = checkpoints::make_file_stage_cache(dir / "cache");
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 20; ++i) {
          const auto entry = testing::sample_cache_entry(std::to_string(i));
          CHECK(cache->put(entry));
          auto found = cache->find(entry.fingerprint);
          CHECK((found && found->output == entry.output));
          (void)t;
        }
      });
    }
  }
  for (int i = 0; i < 20; ++i) CHECK(cache->find(testing::sample_cache_entry(std::to_string(i)).fingerprint));
}

TEST_CASE("the default folder follows XDG_CACHE_HOME, then HOME") {
  const char* old_xdg = std::getenv("XDG_CACHE_HOME");
  const std::string saved_xdg = old_xdg ? old_xdg : "";
  ::setenv("XDG_CACHE_HOME", "/tmp/xdg-test", 1);
  CHECK(checkpoints::default_stage_cache_dir() == "/tmp/xdg-test/pipeline");
  ::unsetenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  if (home) CHECK(checkpoints::default_stage_cache_dir() == std::filesystem::path(home) / ".cache/pipeline");
  if (old_xdg) ::setenv("XDG_CACHE_HOME", saved_xdg.c_str(), 1);
}

TEST_CASE("prune removes old entries from both backends and keeps newer ones") {
  testing::TempDir dir;
  auto files = checkpoints::make_file_stage_cache(dir / "cache");
  testing::check_stage_cache_prune(*files);
  auto memory = checkpoints::make_memory_stage_cache();
  testing::check_stage_cache_prune(*memory);
  // A cache folder that was never made has nothing to prune.
  auto none = checkpoints::make_file_stage_cache(dir / "none");
  CHECK(none->prune(std::chrono::system_clock::now(), false)->entries == 0);
}

TEST_CASE("prune removes a damaged cache file, which no find would return, and leaves other files alone") {
  testing::TempDir dir;
  auto cache = checkpoints::make_file_stage_cache(dir / "cache");
  auto entry = testing::sample_cache_entry("damaged-old");
  entry.created_at = util::now_iso8601();
  REQUIRE(cache->put(entry));
  const std::filesystem::path path = dir / ("cache/" + entry.fingerprint.substr(0, 2) + "/" + entry.fingerprint + ".json");
  REQUIRE(std::filesystem::exists(path));
  std::ofstream(path, std::ios::app) << "torn";
  const std::filesystem::path stranger = dir / "cache/notes.txt";
  std::ofstream(stranger) << "mine";
  const auto pruned = cache->prune(std::chrono::sys_days(std::chrono::year(2000) / 1 / 1), false);
  REQUIRE(pruned.has_value());
  CHECK(pruned->entries == 1);
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(std::filesystem::exists(stranger));
}

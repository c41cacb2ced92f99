#include "tests/support/stage_cache_checks.hpp"

#include <doctest/doctest.h>

#include "lib/util/sha256.hpp"

namespace pipeline::testing {

using checkpoints::CachedStage;

CachedStage sample_cache_entry(const std::string& seed) {
  CachedStage entry;
  entry.fingerprint = util::sha256_hex(seed);
  entry.output = R"({"answer": ")" + seed + "\"}\n";
  entry.stage = "signals";
  entry.run_id = "run-" + seed;
  entry.created_at = "2026-11-29T12:00:00Z";
  entry.usage = {{"prompt_tokens", 10}, {"completion_tokens", 5}, {"cost_usd", 0.001}};
  return entry;
}

void check_stage_cache_round_trip(checkpoints::StageCache& cache) {
  const auto entry = sample_cache_entry("one");
  CHECK_FALSE(cache.find(entry.fingerprint));
  REQUIRE(cache.put(entry));
  auto found = cache.find(entry.fingerprint);
  REQUIRE(found);
  CHECK(found->output == entry.output);
  CHECK(found->sha256 == util::sha256_hex(entry.output));
  CHECK(found->run_id == "run-one");
  CHECK(found->stage == "signals");
  CHECK(found->usage == entry.usage);
  CHECK_FALSE(cache.find(sample_cache_entry("two").fingerprint));
  CHECK_FALSE(cache.find("not-a-fingerprint"));
  // A later put replaces the entry.
  auto changed = entry;
  changed.output = "{}\n";
  REQUIRE(cache.put(changed));
  CHECK(cache.find(entry.fingerprint)->output == "{}\n");
  CHECK_FALSE(cache.put(CachedStage{"short", "{}", "", "", "", "", {}}));
}

}  // namespace pipeline::testing

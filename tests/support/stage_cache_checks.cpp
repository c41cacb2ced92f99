#include "tests/support/stage_cache_checks.hpp"

#include <doctest/doctest.h>

#include <chrono>

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

void check_stage_cache_prune(checkpoints::StageCache& cache) {
  auto old_small = sample_cache_entry("old-small");
  old_small.created_at = "2026-09-01T08:00:00.000Z";
  auto old_large = sample_cache_entry("old-large");
  old_large.created_at = "2026-10-01T08:00:00Z";
  old_large.output = std::string(1'200'000, 'o');
  auto recent = sample_cache_entry("recent");
  recent.created_at = "2026-12-01T08:00:00.000Z";
  for (const auto* entry : {&old_small, &old_large, &recent}) REQUIRE(cache.put(*entry));
  const auto cutoff = std::chrono::sys_days(std::chrono::year(2026) / 11 / 1);

  const auto preview = cache.prune(cutoff, true);
  REQUIRE_MESSAGE(preview.has_value(), preview.error().message);
  CHECK(preview->entries == 2);
  CHECK(preview->bytes > 1'200'000);
  for (const auto* entry : {&old_small, &old_large, &recent}) CHECK(cache.find(entry->fingerprint));

  const auto pruned = cache.prune(cutoff, false);
  REQUIRE_MESSAGE(pruned.has_value(), pruned.error().message);
  CHECK(pruned->entries == 2);
  CHECK(pruned->bytes == preview->bytes);
  CHECK_FALSE(cache.find(old_small.fingerprint));
  CHECK_FALSE(cache.find(old_large.fingerprint));
  CHECK(cache.find(recent.fingerprint));

  const auto again = cache.prune(cutoff, false);
  REQUIRE(again.has_value());
  CHECK(again->entries == 0);
  CHECK(again->bytes == 0);
}

}  // namespace pipeline::testing

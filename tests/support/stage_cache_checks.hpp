#pragma once

#include <string>

#include "checkpoints/stage_cache.hpp"

namespace pipeline::testing {

// A cache entry for the stage "signals" whose fingerprint and output follow from `seed`.
checkpoints::CachedStage sample_cache_entry(const std::string& seed);

// What every StageCache promises: an entry put is found with its output,
// origin and usage; a later put replaces it; an unknown or malformed
// fingerprint is a miss; a put with a malformed one fails.
void check_stage_cache_round_trip(checkpoints::StageCache& cache);

// What every StageCache's prune promises: a dry run counts the entries made
// before the cutoff and removes none; a prune removes them and keeps the
// newer ones; a second prune finds nothing. `large` adds an old entry of
// 1.2 MB, so that the bytes counted must include it.
void check_stage_cache_prune(checkpoints::StageCache& cache);

}  // namespace pipeline::testing

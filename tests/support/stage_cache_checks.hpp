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

}  // namespace pipeline::testing

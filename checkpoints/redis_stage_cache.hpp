#pragma once

#include <memory>
#include <string>

#include "checkpoints/redis_keys.hpp"
#include "checkpoints/stage_cache.hpp"
#include "lib/redis/redis_connection.hpp"

namespace pipeline::checkpoints {

// The stage cache in Redis, shared by every worker of a store, so that
// stages 1 to 3 of a document are paid once across machines: one value
// record per entry at <prefix>cache:stage:<fingerprint> (chunked above 512
// KiB, so never torn), holding the same JSON as a cache file. Entries do not
// expire; `pipeline prune --cache-older-than` removes old ones. find()
// treats Redis out of reach as a miss (logged with --verbose); put() reports
// it. Thread-safe: one connection, one user at a time.
std::unique_ptr<StageCache> make_redis_stage_cache(redis::ConnectOptions connect,
                                                  const std::string& key_prefix = k_default_redis_prefix);

}  // namespace pipeline::checkpoints

#pragma once

// The answers `POST /v1/runs` gave, kept by Idempotency-Key for 24 hours, so
// that a client that did not hear the answer can ask again without making a
// second run. A key is claimed before the run is made, so two requests that
// race with one key make one run; the second is told to try again.

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "checkpoints/redis_run_store.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::service {

inline constexpr std::chrono::hours k_idempotency_key_lifetime{24};

// An answer as it was given.
struct KeptAnswer {
  int status = 0;
  std::string location;
  std::string body;
};

struct KeyClaim {
  enum class Outcome {
    claimed,      // the key is this request's now: complete() or release() it
    replay,       // the same request was answered before: `answer`
    conflict,     // the key was used for a different request
    in_progress,  // the same request is being answered right now
  };
  Outcome outcome = Outcome::claimed;
  KeptAnswer answer;
};

class IdempotencyKeys {
 public:
  virtual ~IdempotencyKeys() = default;
  // `fingerprint` identifies the request (its method, path and content).
  virtual util::Expected<KeyClaim> claim(const std::string& key, const std::string& fingerprint) = 0;
  // Keeps the answer for the key's lifetime.
  virtual util::Expected<void> complete(const std::string& key, const std::string& fingerprint,
                                        const KeptAnswer& answer) = 0;
  // Forgets a claim whose request failed before it made anything, so it may be asked again.
  virtual void release(const std::string& key) = 0;
};

// Keys as files under <root>/.idempotency, named by the key's SHA-256.
std::unique_ptr<IdempotencyKeys> make_folder_idempotency_keys(const std::filesystem::path& root);
// Keys in Redis (<prefix>idempotency:<SHA-256 of the key>) with a TTL, on a connection of their own.
std::unique_ptr<IdempotencyKeys> make_redis_idempotency_keys(const checkpoints::RedisRunStore& store);

// Whether a client's key is usable: 1 to 255 printable ASCII characters.
bool is_valid_idempotency_key(std::string_view key);

}  // namespace pipeline::service

#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "checkpoints/redis_lease.hpp"
#include "checkpoints/run_store.hpp"
#include "checkpoints/stage_cache.hpp"
#include "lib/redis/redis_connection.hpp"
#include "lib/redis/redis_url.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::checkpoints {

// What opening a store needs besides its URL.
struct StoreOptions {
  std::string redis_ca;  // --redis-ca: a PEM file of CAs for rediss://; empty: the system's
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds lease_ttl = k_default_lease_ttl;
};

// Where a store URL says runs live.
struct StoreLocation {
  enum class Kind { folder, redis } kind = Kind::folder;
  std::string folder;     // Kind::folder
  redis::RedisUrl redis;  // Kind::redis
};

// Reads a store URL, choosing the backend by its scheme (as ccache chooses
// its remote storage): redis:// and rediss:// are Redis; file:DIR (or
// file://DIR) and a plain path are a folder. Another scheme is a usage error,
// and so is a mistyped Redis URL ("redis:/...", "redis//...", "rediss:host",
// white space around it): it is never taken as a folder, and the error never
// repeats it.
util::Expected<StoreLocation> parse_store_url(std::string_view url);

// The store URL held by a file (--store-file), so that a Redis password stays
// out of a process's command line: its one line, without the white space
// around it. A missing, empty, multi-line or non-regular file (or one over
// 4 KiB) is bad_input.
util::Expected<std::string> read_store_url_file(const std::filesystem::path& path);

// How to connect to a Redis store.
redis::ConnectOptions redis_connect_options(const redis::RedisUrl& url, const StoreOptions& options);

// The store a URL names. Nothing is read or written yet.
util::Expected<std::unique_ptr<RunStore>> open_run_store(std::string_view url, const StoreOptions& options);

// The stage cache that lives with the store, shared by everyone who uses
// it: the same Redis for a Redis store; nullptr for a folder store, whose
// runs use a cache folder of their own.
util::Expected<std::unique_ptr<StageCache>> open_store_stage_cache(std::string_view url, const StoreOptions& options);

}  // namespace pipeline::checkpoints

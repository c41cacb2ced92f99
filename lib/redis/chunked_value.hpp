#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/redis/redis_connection.hpp"
#include "lib/redis/redis_fence.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::redis {

// Values up to this size travel in the one request that makes them visible;
// larger ones in chunks of this size. Managed Redis caps a request at 1 MB
// (Upstash's smaller plans), so no request carries much more than this.
inline constexpr std::size_t k_chunk_bytes = 512 * 1024;

// The largest value a slot holds: 512 MiB, Redis's own limit for one string,
// hence at most k_max_chunks chunks. A record that claims more is damaged
// (refused before anything is allocated), and a larger value is refused
// before it is written.
inline constexpr std::size_t k_max_value_bytes = std::size_t{512} * 1024 * 1024;
inline constexpr std::size_t k_max_chunks = k_max_value_bytes / k_chunk_bytes;

// Chunks written but not yet made visible expire after this time, so a
// writer killed mid-value leaves nothing behind for long.
inline constexpr std::chrono::seconds k_staged_chunk_ttl{3600};

// Where a value lives: a string key, or a field of a hash, and the prefix of
// its chunks' keys (<chunk_prefix><generation>:<index>).
struct ValueSlot {
  std::string key;
  std::string field;  // empty: `key` holds the value as a string
  std::string chunk_prefix;
};

// A value ready to be made visible: its record (the value itself, or a
// pointer to its chunks) and the chunks already written.
struct StagedValue {
  std::string record;
  std::vector<std::string> chunk_keys;
};

// What the script that makes a value visible checks and does besides.
struct CommitOptions {
  std::optional<Fence> fence;
  // SADD `index_member` to the set `index_key` in the same step; empty: none.
  std::string index_key;
  std::string index_member;
};

// Stored values of any size that never show torn: a value above
// k_chunk_bytes is written as chunks under a new generation first
// (stage_value), and one Lua script then checks the fence and that every
// chunk is there, switches the slot to the new record and deletes the old
// value's chunks (commit_value). A reader sees the old value or the new one;
// a writer that dies between the two steps leaves only expiring chunks.
//
// Records: "=" followed by the value; or "*<count> <bytes> <sha256> <prefix>"
// for a chunked value whose chunk i is the key <prefix><i>.

// Writes the chunks of a large value (none for a small one).
util::Expected<StagedValue> stage_value(Connection& connection, const ValueSlot& slot, std::string_view value);

// Makes a staged value the slot's value, atomically. `what` ("saving run x")
// names the write in errors; a lost lease is busy with k_lease_lost_code.
util::Expected<void> commit_value(Connection& connection, const ValueSlot& slot, const StagedValue& staged,
                                  const CommitOptions& options, const std::string& what);

// stage_value, then commit_value.
util::Expected<void> put_value(Connection& connection, const ValueSlot& slot, std::string_view value,
                               const CommitOptions& options, const std::string& what);

// The slot's value, nullopt when it has none. A value replaced while it was
// being read is read again; chunks that are gone or do not add up to the
// recorded SHA-256 are bad_input (code "redis_damaged"), like a corrupt file.
util::Expected<std::optional<std::string>> get_value(Connection& connection, const ValueSlot& slot);

// Several fields of one hash at once (one HMGET, then the chunks of the
// chunked ones), in the order of `fields`.
util::Expected<std::vector<std::optional<std::string>>> get_fields(Connection& connection, const std::string& key,
                                                                   const std::vector<std::string>& fields,
                                                                   const std::string& chunk_prefix);

// Lua defining drop_chunks(record), which deletes the chunks a record points
// to (nothing for an inline record or false), for scripts that delete values.
const std::string& lua_drop_chunks();

}  // namespace pipeline::redis

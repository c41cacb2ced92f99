#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "checkpoints/redis_keys.hpp"
#include "checkpoints/redis_lease.hpp"
#include "checkpoints/run_store.hpp"
#include "lib/redis/redis_connection.hpp"
#include "lib/redis/redis_fence.hpp"

namespace pipeline::checkpoints {

// How a Redis store connects and names its keys.
struct RedisStoreOptions {
  redis::ConnectOptions connect;
  std::string key_prefix = k_default_redis_prefix;
  // The TTL of the leases lock() and create() take; renewed every third of it.
  std::chrono::milliseconds lease_ttl = k_default_lease_ttl;
};

// Runs in Redis (key layout in RedisKeys and docs/queue.md): the checkpoint
// as one value, the files in one hash (path -> value), the events in a list,
// the lease in a hash with a TTL. Values above redis::k_chunk_bytes are
// chunked (redis/chunked_value.hpp), so a checkpoint or artifact is replaced
// whole or not at all, and an artifact is in place before the checkpoint
// that names it, since the writes happen in that order and each is atomic.
//
// Every write to a run (save, write_artifact, append_event, flush) is fenced
// by the lease this store took with create() or lock(): refused (busy, code
// redis::k_lease_lost_code) when the lease is lost or this store holds none.
// Batch manifests, brands and the stage cache are not fenced.
//
// Thread-safe: the store's commands share one connection, one at a time;
// each lease renews itself on a connection of its own. The methods without an
// error channel (exists, list, lock_holder, batch_exists) throw
// util::FatalError (transient) when Redis cannot be reached.
class RedisRunStore final : public RunStore {
 public:
  explicit RedisRunStore(RedisStoreOptions options);

  util::Expected<std::unique_ptr<RunLock>> create(const std::string& run_id) override;
  bool exists(const std::string& run_id) const override;
  std::vector<std::string> list() const override;
  util::Expected<RunState> load(const std::string& run_id, int redo_from = 0) const override;
  util::Expected<RunState> read_checkpoint(const std::string& run_id) const override;
  util::Expected<void> save(const RunState& state) override;
  util::Expected<void> flush(const std::string& run_id) override;
  util::Expected<ArtifactRef> write_artifact(const std::string& run_id, const std::string& path,
                                             std::string_view content) override;
  util::Expected<std::string> read_artifact(const std::string& run_id, const std::string& path) const override;
  util::Expected<void> append_event(const std::string& run_id, std::string_view line) override;
  util::Expected<std::unique_ptr<RunLock>> lock(const std::string& run_id) override;
  std::optional<std::string> lock_holder(const std::string& run_id) const override;
  util::Expected<std::uint64_t> footprint(const std::string& run_id) const override;
  util::Expected<void> remove(const std::string& run_id) override;
  // "<masked URL>#<run id>", e.g. "rediss://default:***@host:6379/0#report-acme-...".
  std::string location(const std::string& run_id) const override;
  util::Expected<void> save_batch(const BatchManifest& manifest) override;
  util::Expected<BatchManifest> load_batch(const std::string& batch_id) const override;
  bool batch_exists(const std::string& batch_id) const override;
  util::Expected<void> save_brand(const std::string& brand_id, std::string_view json) override;
  util::Expected<std::optional<std::string>> find_brand(const std::string& brand_id) const override;
  std::vector<std::string> list_brands() const override;

  // For workers: the TTL of leases taken from now on (e.g. --lease 30s).
  void set_lease_ttl(std::chrono::milliseconds ttl);
  std::chrono::milliseconds lease_ttl() const;
  // The run's lease as Redis holds it now; nullopt when no one holds it.
  util::Expected<std::optional<LeaseRecord>> lease(const std::string& run_id) const;
  // A run's event lines, oldest first.
  util::Expected<std::vector<std::string>> read_events(const std::string& run_id,
                                                       std::size_t first = 0) const override;

  // Makes every key of the run (checkpoint, files, their chunks, events,
  // epoch, and its job and status hashes) expire `ttl` from now, in one
  // script under this store's lease, so that no part outlives another. The
  // next lock() or create() of the run takes the expiry away again.
  util::Expected<void> expire_run(const std::string& run_id, std::chrono::milliseconds ttl);
  // The run's expiry as Redis holds it (PTTL of its checkpoint); nullopt
  // when it does not expire.
  util::Expected<std::optional<std::chrono::milliseconds>> expiry(const std::string& run_id) const;

  const RedisKeys& keys() const { return m_keys; }
  const RedisStoreOptions& options() const { return m_options; }
  // The masked URL, for messages.
  std::string where() const { return m_options.connect.url.masked(); }
  // Runs one command on the store's connection (for a worker's own keys).
  util::Expected<redis::Reply> command(const redis::Command& command) const;
  // A connection of its own to the same server (for blocking commands).
  std::unique_ptr<redis::Connection> new_connection() const;

 private:
  // The checkpoint parsed and checked, m_mutex held.
  util::Expected<RunState> parse_checkpoint(const std::string& run_id) const;
  // The fence of this store's valid lease on the run, or why there is none.
  util::Expected<redis::Fence> fence_for(const std::string& run_id, const std::string& what) const;
  util::Expected<std::unique_ptr<RunLock>> take_lease(const std::string& run_id, LeaseMode mode);
  // KEYS for the run scripts: the lease, then checkpoint, files, events,
  // epoch, job and job status.
  std::vector<std::string> run_keys(const std::string& run_id, const std::string& lease_key) const;
  // Drops from the set of runs (and the job index) the runs whose expiry
  // has ended and whose keys Redis has deleted.
  void forget_expired_runs() const;
  // The ids whose checkpoint exists; the others leave the runs set (cluster).
  std::vector<std::string> drop_stale_ids(const std::vector<std::string>& ids) const;
  // Takes away the expiry expire_run gave the run, under `fence`.
  util::Expected<void> persist_run(const std::string& run_id, const redis::Fence& fence);
  // Deletes what a killed creation left of a run: files, their chunks, events.
  util::Expected<void> clear_leftovers(const std::string& run_id, const redis::Fence& fence);

  RedisStoreOptions m_options;
  RedisKeys m_keys;
  mutable std::mutex m_mutex;  // guards m_connection and m_leases
  mutable redis::Connection m_connection;
  std::map<std::string, std::weak_ptr<LeaseHandle>> m_leases;
};

// Opens a Redis store; nothing is sent until the first command.
std::unique_ptr<RedisRunStore> make_redis_run_store(RedisStoreOptions options);

}  // namespace pipeline::checkpoints

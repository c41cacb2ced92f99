#pragma once

#include <string>
#include <string_view>

namespace pipeline::checkpoints {

// The default prefix of every key pipeline writes to Redis.
inline constexpr const char* k_default_redis_prefix = "pipeline:";

// The Redis key layout, one place for every name (docs/queue.md describes
// it). Run, batch and brand ids never hold ':', so names cannot collide.
//
// Two layouts. A single server keeps the names it always had
// (pipeline:run:<id>:checkpoint, pipeline:job:<id>...). In a Redis Cluster
// every key of a run carries the hash tag {run:<id>} (pipeline:{run:<id>}:job)
// so that it lives in one slot with the others, and the queue's own keys
// carry {queue}; a batch, a brand and a cache entry tag themselves with
// their chunks. queue::QueueKeys names the queue's keys the same way.
class RedisKeys {
 public:
  explicit RedisKeys(std::string prefix = k_default_redis_prefix, bool cluster = false)
      : m_prefix(std::move(prefix)), m_cluster(cluster) {}

  const std::string& prefix() const { return m_prefix; }
  bool cluster() const { return m_cluster; }

  // Set of the ids of runs that have a checkpoint.
  std::string runs() const { return m_prefix + "runs"; }
  // pipeline:run:<id>:<part> (cluster: pipeline:{run:<id>}:<part>), the keys of one run.
  std::string run(const std::string& run_id, std::string_view part) const {
    if (m_cluster) return m_prefix + "{run:" + run_id + "}:" + std::string(part);
    return m_prefix + "run:" + run_id + ":" + std::string(part);
  }
  std::string checkpoint(const std::string& run_id) const { return run(run_id, "checkpoint"); }
  // Hash: artifact path -> value record.
  std::string files(const std::string& run_id) const { return run(run_id, "files"); }
  // List: one event line per element, oldest first.
  std::string events(const std::string& run_id) const { return run(run_id, "events"); }
  // Hash with a TTL: owner, epoch, pid, host, since, ttl_ms.
  std::string lease(const std::string& run_id) const { return run(run_id, "lease"); }
  // Counter: the epoch of the run's last lease; never expires.
  std::string epoch(const std::string& run_id) const { return run(run_id, "epoch"); }
  // Prefix of the chunks of the run's large values.
  std::string run_chunks(const std::string& run_id) const { return run(run_id, "chunk:"); }

  // Sorted set: ids of runs given an expiry (expire_run), by when it ends
  // (ms), so that list() forgets them once Redis has deleted them.
  std::string expiring_runs() const { return m_prefix + "runs:expiring"; }
  // The queue's keys of a run's job (queue::QueueKeys names them too),
  // removed and expired with the run.
  std::string job(const std::string& run_id) const {
    return m_cluster ? run(run_id, "job") : m_prefix + "job:" + run_id;
  }
  std::string job_status(const std::string& run_id) const {
    return m_cluster ? run(run_id, "status") : m_prefix + "status:" + run_id;
  }
  std::string jobs_index() const { return queue_key("jobs:index"); }
  std::string jobs_delayed() const { return queue_key("jobs:delayed"); }
  std::string jobs_dead() const { return queue_key("jobs:dead"); }

  std::string batch(const std::string& batch_id) const { return tagged("batch", batch_id); }
  std::string batch_chunks(const std::string& batch_id) const { return batch(batch_id) + ":chunk:"; }

  std::string brands() const { return m_prefix + "brands"; }
  std::string brand(const std::string& brand_id) const { return tagged("brand", brand_id); }
  std::string brand_chunks(const std::string& brand_id) const { return brand(brand_id) + ":chunk:"; }

  // The stage cache: one value per stage fingerprint (cluster:
  // pipeline:cache:stage:{<fingerprint>}, its chunks in its slot).
  std::string stage_cache(const std::string& fingerprint) const {
    return m_prefix + "cache:stage:" + (m_cluster ? "{" + fingerprint + "}" : fingerprint);
  }
  std::string stage_cache_chunks(const std::string& fingerprint) const { return stage_cache(fingerprint) + ":chunk:"; }

 private:
  // pipeline:<kind>:<id>, or pipeline:{<kind>:<id>} in a cluster.
  std::string tagged(std::string_view kind, const std::string& id) const {
    return m_cluster ? m_prefix + "{" + std::string(kind) + ":" + id + "}" : m_prefix + std::string(kind) + ":" + id;
  }
  // pipeline:<name>, or pipeline:{queue}:<name> in a cluster.
  std::string queue_key(std::string_view name) const {
    return m_prefix + (m_cluster ? "{queue}:" : "") + std::string(name);
  }

  std::string m_prefix;
  bool m_cluster = false;
};

}  // namespace pipeline::checkpoints

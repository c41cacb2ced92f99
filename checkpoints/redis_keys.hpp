#pragma once

#include <string>
#include <string_view>

namespace pipeline::checkpoints {

// The default prefix of every key pipeline writes to Redis.
inline constexpr const char* k_default_redis_prefix = "pipeline:";

// The Redis key layout, one place for every name (docs/queue.md describes
// it). Run, batch and brand ids never hold ':', so names cannot collide.
class RedisKeys {
 public:
  explicit RedisKeys(std::string prefix = k_default_redis_prefix) : m_prefix(std::move(prefix)) {}

  const std::string& prefix() const { return m_prefix; }

  // Set of the ids of runs that have a checkpoint.
  std::string runs() const { return m_prefix + "runs"; }
  // pipeline:run:<id>:<part>, the keys of one run.
  std::string run(const std::string& run_id, std::string_view part) const {
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
  std::string job(const std::string& run_id) const { return m_prefix + "job:" + run_id; }
  std::string job_status(const std::string& run_id) const { return m_prefix + "status:" + run_id; }
  std::string jobs_index() const { return m_prefix + "jobs:index"; }
  std::string jobs_delayed() const { return m_prefix + "jobs:delayed"; }
  std::string jobs_dead() const { return m_prefix + "jobs:dead"; }

  std::string batch(const std::string& batch_id) const { return m_prefix + "batch:" + batch_id; }
  std::string batch_chunks(const std::string& batch_id) const { return m_prefix + "batch:" + batch_id + ":chunk:"; }

  std::string brands() const { return m_prefix + "brands"; }
  std::string brand(const std::string& brand_id) const { return m_prefix + "brand:" + brand_id; }
  std::string brand_chunks(const std::string& brand_id) const { return m_prefix + "brand:" + brand_id + ":chunk:"; }

  // The stage cache: one value per stage fingerprint.
  std::string stage_cache(const std::string& fingerprint) const { return m_prefix + "cache:stage:" + fingerprint; }
  std::string stage_cache_chunks(const std::string& fingerprint) const {
    return m_prefix + "cache:stage:" + fingerprint + ":chunk:";
  }

 private:
  std::string m_prefix;
};

}  // namespace pipeline::checkpoints

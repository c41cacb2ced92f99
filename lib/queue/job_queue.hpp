#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/queue/job.hpp"
#include "lib/redis/redis_connection.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::queue {

// The consumer group every worker reads the job streams in.
inline constexpr const char* k_consumer_group = "workers";
// A job whose workers died this many times without finishing a stage goes
// to the dead-letter list.
inline constexpr int k_max_deaths = 3;

// The queue's key names under the store's prefix (docs/queue.md). In a
// Redis Cluster the queue's own keys carry the hash tag {queue}, so that one
// XREADGROUP reads the three streams and one script moves a job between
// them and the delayed set, and a run's keys carry {run:<id>}, as
// checkpoints::RedisKeys names them.
class QueueKeys {
 public:
  explicit QueueKeys(std::string prefix, bool cluster = false) : m_prefix(std::move(prefix)), m_cluster(cluster) {}
  const std::string& prefix() const { return m_prefix; }
  bool cluster() const { return m_cluster; }
  // Stream of one priority: the entries workers read.
  std::string stream(Priority priority) const { return queue_key("jobs:" + std::string(to_string(priority))); }
  // Hash: the job's fields (Job::to_fields).
  std::string job(const std::string& job_id) const { return m_cluster ? run_key(job_id, "job") : m_prefix + "job:" + job_id; }
  // Sorted set: every job id, by creation time (ms).
  std::string index() const { return queue_key("jobs:index"); }
  // Sorted set: job ids waiting for a retry, by the time (ms) they are due.
  std::string delayed() const { return queue_key("jobs:delayed"); }
  // List: the dead-letter job ids, newest first.
  std::string dead() const { return queue_key("jobs:dead"); }
  // Key with a TTL per live worker.
  std::string worker(const std::string& worker_id) const { return queue_key("worker:" + worker_id); }
  std::string workers_pattern() const { return queue_key("worker:*"); }
  // String: a run's checkpoint and hash with a TTL: its lease (the store's
  // keys, docs/queue.md), so a source job for a run that exists is refused.
  std::string run_checkpoint(const std::string& run_id) const { return run_key(run_id, "checkpoint"); }
  std::string run_lease(const std::string& run_id) const { return run_key(run_id, "lease"); }
  // Hash a web page polls: the run's status (see RunStatusFields).
  std::string status(const std::string& run_id) const {
    return m_cluster ? run_key(run_id, "status") : m_prefix + "status:" + run_id;
  }

 private:
  std::string queue_key(const std::string& name) const { return m_prefix + (m_cluster ? "{queue}:" : "") + name; }
  std::string run_key(const std::string& run_id, const std::string& part) const {
    return m_cluster ? m_prefix + "{run:" + run_id + "}:" + part : m_prefix + "run:" + run_id + ":" + part;
  }

  std::string m_prefix;
  bool m_cluster = false;
};

// A job a worker took: the job and the stream entry it came in.
struct Delivery {
  Job job;
  Priority stream = Priority::normal;
  std::string entry_id;
  // Taken over from a worker that stopped renewing it (XAUTOCLAIM).
  bool reclaimed = false;
};

// What `pipeline queue` shows.
struct QueueCounts {
  std::map<Priority, long long> queued;  // entries no worker has taken yet
  long long in_flight = 0;               // entries a worker holds
  long long delayed = 0;                 // waiting for a retry
  long long dead = 0;
  long long live_workers = 0;
  std::optional<double> oldest_queued_age_s;
};

// The job queue in Redis: one stream per priority read by the consumer
// group `workers`, a hash per job, a sorted set of delayed retries and a
// dead-letter list. A worker holds an entry while it works on it and resets
// the entry's idle time (touch) every third of the lease; an entry idle
// longer than the lease belongs to a dead worker and is claimed by the next
// one that takes a job, which counts a death. Not thread-safe: one
// connection, one user.
class JobQueue {
 public:
  JobQueue(std::unique_ptr<redis::Connection> connection, const std::string& prefix, std::string consumer);

  const QueueKeys& keys() const { return m_keys; }
  const std::string& consumer() const { return m_consumer; }
  redis::Connection& connection() { return *m_connection; }

  // Makes the streams and the consumer group where missing (XGROUP CREATE MKSTREAM).
  util::Expected<void> ensure_groups();
  // Writes the job's hash (state queued) and adds an entry to its stream.
  util::Expected<void> enqueue(Job job);

  // Called with the record of every entry take() refuses (already saved as
  // a failed job and acknowledged), so that the worker can log it.
  void on_refused(std::function<void(const Job&)> observer) { m_on_refused = std::move(observer); }

  // The next job. Every entry taken is admitted atomically (one script):
  // the first entry that names an id no job holds makes its job; the entry a
  // job's hash names (field entry) is that job's; any other entry (a second
  // entry for the id, a source job for a run that exists, a malformed entry)
  // is refused: recorded as a failed job, under its run id when no job holds
  // it, else under refused_entry_id(), and acknowledged. With `reclaim_idle` (a worker asks every third of its
  // lease), due retries are first moved back to their streams and entries
  // idle longer than it are taken over from dead workers (counting a death;
  // the third sends the job to the dead-letter list instead). Then new
  // entries, high before normal before low. Waits up to `wait` for one (0:
  // no wait). nullopt when there is none.
  util::Expected<std::optional<Delivery>> take(std::chrono::milliseconds wait,
                                               std::optional<std::chrono::milliseconds> reclaim_idle);
  // Resets the entry's idle time if this consumer still holds it; false when
  // another worker took it over or it is gone.
  util::Expected<bool> touch(const Delivery& delivery);
  // Acknowledges and deletes the entry and records the job's final state.
  util::Expected<void> finish(const Delivery& delivery, JobState state, const std::string& error);
  // Acknowledges the entry and queues the job again after `delay`.
  util::Expected<void> retry_later(const Delivery& delivery, std::chrono::milliseconds delay, const std::string& error);
  // Gives the job back at once, for another worker (a drained or unfinished job).
  util::Expected<void> release(const Delivery& delivery);
  // Forgets the entry without touching the job (its hash says why).
  util::Expected<void> drop(const Delivery& delivery);

  util::Expected<std::optional<Job>> find(const std::string& job_id);
  // Sets fields of the job's hash (and updated_at).
  util::Expected<void> update(const std::string& job_id, const std::map<std::string, std::string>& fields);
  // Every job, oldest first.
  util::Expected<std::vector<Job>> list();
  // Marks the job cancelled; a worker running it stops at its next check.
  // bad_input for an unknown job or one that is done.
  util::Expected<Job> cancel(const std::string& job_id);
  // Queues a failed, dead or cancelled job again with no deaths; with
  // `redo_from` (1-5) its run redoes the stages from that one on, and a done
  // job may be queued again too.
  util::Expected<Job> retry(const std::string& job_id, int redo_from = 0);
  util::Expected<QueueCounts> counts();

  // Marks this worker live for `ttl` (a key the TTL ends when it dies).
  util::Expected<void> register_worker(const std::string& description, std::chrono::milliseconds ttl);
  util::Expected<void> unregister_worker();

  // Sets fields of the run's status hash, with updated_at.
  util::Expected<void> update_status(const std::string& run_id, const std::map<std::string, std::string>& fields);

 private:
  util::Expected<redis::Reply> run(const redis::Command& command, const std::string& what);
  // HSET of the fields and updated_at.
  util::Expected<void> stamp_hash(const std::string& key, std::map<std::string, std::string> fields,
                                  const std::string& what);
  util::Expected<void> promote_due_retries();
  // promote_due_retries in a cluster, where the delayed set and the jobs'
  // hashes live in different slots: one job at a time, in steps.
  util::Expected<void> promote_due_retries_apart();
  util::Expected<std::optional<Delivery>> reclaim(Priority priority, std::chrono::milliseconds idle);
  util::Expected<std::optional<Delivery>> read_new(std::chrono::milliseconds wait);
  // The delivery of one stream entry; nullopt when its job is over (the entry is dropped).
  util::Expected<std::optional<Delivery>> deliver(Priority priority, const redis::Reply& entry, bool reclaimed);
  // Adds an entry for the job and makes it the job's (field entry), at once.
  util::Expected<void> add_entry(const Job& job);
  // Records the entry as the failed job `record` (indexed), acknowledges it
  // and tells the observer.
  util::Expected<void> refuse(const Delivery& delivery, Job record, const std::string& error);

  std::unique_ptr<redis::Connection> m_connection;
  QueueKeys m_keys;
  std::string m_consumer;
  bool m_found_empty = false;  // the last wait for a job timed out
  std::function<void(const Job&)> m_on_refused;
};

// Milliseconds since the epoch, the clock of the queue's scores.
long long unix_ms();

}  // namespace pipeline::queue

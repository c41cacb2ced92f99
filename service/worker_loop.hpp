#pragma once

// The queue's worker: takes jobs from the queue of a Redis store and runs
// them as `pipeline resume` runs a run (service::execute), with leases,
// heartbeats, retries and draining on a stop signal (docs/queue.md).

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "checkpoints/redis_run_store.hpp"
#include "lib/queue/job_source.hpp"
#include "lib/util/time.hpp"
#include "service/run_settings.hpp"
#include "stages/chain.hpp"

namespace pipeline::service {

// How a worker works.
struct WorkerOptions {
  int concurrency = 1;                                   // jobs at once
  std::chrono::milliseconds lease{30000};                // a run's lease and a job's entry, renewed every third
  bool once = false;                                     // one job (or an empty queue), then return
  std::optional<util::Clock::time_point> deadline;       // what does not fit goes back to the queue
  std::chrono::milliseconds drain_timeout{25000};        // on a stop signal, the stages in flight may finish
  // How long a run lives on in Redis once its job is done or failed, all its
  // keys together (RedisRunStore::expire_run), unless its job names its own
  // (submit --ttl); 0: for ever.
  std::chrono::milliseconds ttl{0};
  // Where source jobs may read documents: http(s) URLs, and local files only
  // under sources.local_root (--allow-local-sources).
  queue::SourcePolicy sources;
  // Where the worker's lines for people go; null: nowhere.
  std::function<void(const std::string& line)> log;
  // Sees every event of the runs it works on (a progress printer); may be null.
  stages::EventSink progress;
};

// Works on jobs until a stop signal (SIGTERM, SIGINT), after which it drains,
// or, with `once`, after one job. Returns 0, or with `once` the exit code of
// why it stopped (util::exit_code: deadline when the job went back to the
// queue unfinished). Throws FatalError before any job when the store's
// server evicts keys or the lease is shorter than 1 s.
int run_worker(const RunSettings& settings, std::unique_ptr<checkpoints::RedisRunStore> store,
               const WorkerOptions& options);

}  // namespace pipeline::service

#pragma once

// What the queue's commands (submit, worker, jobs, queue) share.

#include <memory>
#include <string>

#include "checkpoints/redis_run_store.hpp"
#include "cli/app.hpp"
#include "lib/queue/job_queue.hpp"

namespace pipeline::cli {

// The store the options name, which must be a Redis store: a folder store
// has no queue (usage error, exit 2, naming `what`).
std::unique_ptr<checkpoints::RedisRunStore> open_queue_store(const GlobalOptions& options, const std::string& what);

// The job queue of a Redis store, on a connection of its own, its groups made.
std::unique_ptr<queue::JobQueue> open_job_queue(const checkpoints::RedisRunStore& store, const std::string& consumer);

// A job as JSON, for --json and `jobs show`.
nlohmann::json job_json(const queue::Job& job);

}  // namespace pipeline::cli

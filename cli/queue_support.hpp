#pragma once

// What the queue's commands (submit, worker, jobs, queue) share.

#include <memory>
#include <string>

#include "checkpoints/redis_run_store.hpp"
#include "cli/app.hpp"
#include "lib/queue/job_queue.hpp"
#include "service/queue_connection.hpp"

namespace pipeline::cli {

// The store the options name, which must be a Redis store: a folder store
// has no queue (usage error, exit 2, naming `what`).
std::unique_ptr<checkpoints::RedisRunStore> open_queue_store(const GlobalOptions& options, const std::string& what);

// A job as JSON, for --json and `jobs show`.
nlohmann::json job_json(const queue::Job& job);

}  // namespace pipeline::cli

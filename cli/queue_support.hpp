#pragma once

// What the queue's commands (submit, worker, jobs, queue) share.

#include <chrono>
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

// Adds --ttl (PIPELINE_RUN_TTL) to `command`: how long a run lives on in
// Redis once its job is over.
void add_run_ttl_option(CLI::App* command, std::string& ttl);
// The --ttl given, whole seconds of at least 1 s; 0 when none was. Any
// other text is a usage error.
std::chrono::milliseconds parse_run_ttl(const std::string& text);

// A job as JSON, for --json and `jobs show`.
nlohmann::json job_json(const queue::Job& job);

}  // namespace pipeline::cli

#pragma once

#include <memory>
#include <string>

#include "checkpoints/redis_run_store.hpp"
#include "lib/queue/job_queue.hpp"

namespace pipeline::service {

// The job queue of a Redis store, on a connection of its own, its groups
// made; `consumer` names the reader (a worker's id, or the command). Throws FatalError.
std::unique_ptr<queue::JobQueue> open_job_queue(const checkpoints::RedisRunStore& store, const std::string& consumer);

}  // namespace pipeline::service

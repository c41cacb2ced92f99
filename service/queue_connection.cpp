#include "service/queue_connection.hpp"

namespace pipeline::service {

std::unique_ptr<queue::JobQueue> open_job_queue(const checkpoints::RedisRunStore& store, const std::string& consumer) {
  auto job_queue = std::make_unique<queue::JobQueue>(store.new_connection(), store.keys().prefix(), consumer);
  job_queue->ensure_groups().value_or_throw();
  return job_queue;
}

}  // namespace pipeline::service

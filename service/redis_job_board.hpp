#pragma once

#include <chrono>
#include <memory>
#include <mutex>

#include "checkpoints/redis_run_store.hpp"
#include "service/job_board.hpp"

namespace pipeline::service {

// The job board of a Redis store: its job queue (docs/queue.md), on a
// connection of its own shared by the server's threads one at a time.
class RedisJobBoard final : public JobBoard {
 public:
  // Throws FatalError when the store's server cannot be reached. The jobs
  // it queues carry `run_ttl` (serve --ttl; 0: none) as their ttl_s.
  explicit RedisJobBoard(const checkpoints::RedisRunStore& store,
                         std::chrono::milliseconds run_ttl = std::chrono::milliseconds(0));

  util::Expected<void> enqueue(queue::Job job) override;
  util::Expected<std::optional<queue::Job>> find(const std::string& job_id) override;
  util::Expected<queue::Job> cancel(const std::string& job_id) override;
  util::Expected<queue::Job> retry(const std::string& job_id, int redo_from) override;
  util::Expected<std::vector<queue::Job>> list() override;
  util::Expected<queue::QueueCounts> counts() override;

 private:
  std::mutex m_mutex;
  std::unique_ptr<queue::JobQueue> m_queue;
  std::chrono::milliseconds m_run_ttl;
};

}  // namespace pipeline::service

#include "service/redis_job_board.hpp"

#include <fmt/format.h>

#include "service/queue_connection.hpp"

namespace pipeline::service {

RedisJobBoard::RedisJobBoard(const checkpoints::RedisRunStore& store, std::chrono::milliseconds run_ttl)
    : m_queue(open_job_queue(store, "serve")), m_run_ttl(run_ttl) {}

util::Expected<void> RedisJobBoard::enqueue(queue::Job job) {
  std::lock_guard lock(m_mutex);
  auto live = m_queue->find(job.job_id);
  if (!live) return live.error();
  if (*live && !queue::is_final((*live)->state)) {
    return util::fail(util::ErrorKind::bad_input,
                       fmt::format("run {} is {} in the queue already", job.run_id, queue::to_string((*live)->state)));
  }
  if (job.ttl_s == 0 && m_run_ttl.count() > 0) {
    job.ttl_s = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(m_run_ttl).count());
  }
  if (auto queued = m_queue->enqueue(job); !queued) return queued.error();
  return m_queue->update_status(job.run_id, {{"status", "queued"}, {"error", ""}});
}

util::Expected<std::optional<queue::Job>> RedisJobBoard::find(const std::string& job_id) {
  std::lock_guard lock(m_mutex);
  return m_queue->find(job_id);
}

util::Expected<queue::Job> RedisJobBoard::cancel(const std::string& job_id) {
  std::lock_guard lock(m_mutex);
  // The queue's own cancel refuses only a done job; a board refuses every job that is over.
  auto found = m_queue->find(job_id);
  if (!found) return found.error();
  if (*found && queue::is_final((*found)->state) && (*found)->state != queue::JobState::done) {
    return util::fail(util::ErrorKind::bad_input, fmt::format("job {} is {}; there is nothing to cancel", job_id,
                                                              queue::to_string((*found)->state)));
  }
  return m_queue->cancel(job_id);
}

util::Expected<queue::Job> RedisJobBoard::retry(const std::string& job_id, int redo_from) {
  std::lock_guard lock(m_mutex);
  auto job = m_queue->retry(job_id, redo_from);
  if (job) (void)m_queue->update_status(job->run_id, {{"status", "queued"}, {"error", ""}});
  return job;
}

util::Expected<std::vector<queue::Job>> RedisJobBoard::list() {
  std::lock_guard lock(m_mutex);
  return m_queue->list();
}

util::Expected<queue::QueueCounts> RedisJobBoard::counts() {
  std::lock_guard lock(m_mutex);
  return m_queue->counts();
}

}  // namespace pipeline::service

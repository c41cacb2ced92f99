#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "lib/util/time.hpp"
#include "service/job_board.hpp"

namespace pipeline::service {

// The job board of a folder store: one JSON file per job under
// <root>/.jobs, run by this process's own threads (FolderWorkers). Only one
// process may serve a folder store: open() takes <root>/.jobs/.serve.lock.
// A job left running by a process that died is queued again on open, so a
// restart resumes it from its run's last checkpoint. Thread-safe.
class FolderJobBoard final : public JobBoard {
 public:
  // busy when another process serves the folder; failed when it cannot be made.
  static util::Expected<std::unique_ptr<FolderJobBoard>> open(const std::filesystem::path& root);
  ~FolderJobBoard() override;

  util::Expected<void> enqueue(queue::Job job) override;
  util::Expected<std::optional<queue::Job>> find(const std::string& job_id) override;
  util::Expected<queue::Job> cancel(const std::string& job_id) override;
  util::Expected<queue::Job> retry(const std::string& job_id, int redo_from) override;
  util::Expected<std::vector<queue::Job>> list() override;
  util::Expected<queue::QueueCounts> counts() override;

  // The workers' side. take() waits up to `wait` for the next due job (high
  // priority before normal before low, then oldest first), marks it running
  // with one more attempt and returns it; nullopt when none came or close()
  // was called.
  std::optional<queue::Job> take(std::chrono::milliseconds wait);
  // Records how a taken job ended: done, failed or (when it was cancelled
  // while running) left cancelled.
  void finish(const std::string& job_id, queue::JobState state, const std::string& error);
  // Queues a taken job again, due after `delay` (a retry, or a drain that
  // gave it back), keeping `error` as the reason.
  void give_back(const std::string& job_id, std::chrono::milliseconds delay, const std::string& error);
  // Sets fields of a job (redo_from cleared once a stage is done).
  void clear_redo(const std::string& job_id);
  // Called with a running job's id when it is cancelled, so its worker stops.
  void on_cancel(std::function<void(const std::string& job_id)> observer);
  void set_live_workers(long long count);
  // Wakes every take() and makes it return nullopt from now on.
  void close();

 private:
  struct Entry {
    queue::Job job;
    std::uint64_t order = 0;
    util::Clock::time_point due{};
  };
  FolderJobBoard(std::filesystem::path dir, int lock_fd);
  util::Expected<void> load();
  util::Expected<void> persist(const queue::Job& job);

  const std::filesystem::path m_dir;
  const int m_lock_fd;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::map<std::string, Entry> m_jobs;
  std::uint64_t m_next_order = 0;
  long long m_live_workers = 0;
  bool m_closed = false;
  std::function<void(const std::string&)> m_on_cancel;
};

}  // namespace pipeline::service

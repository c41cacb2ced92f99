#pragma once

// The threads that run the jobs of a folder store's job board inside
// `pipeline serve`, as `pipeline worker` runs a Redis store's: each job's run
// is made or loaded and carried on (service::execute); transient failures are
// tried again later; a stop drains them.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "checkpoints/run_store.hpp"
#include "lib/queue/job_source.hpp"
#include "service/folder_job_board.hpp"
#include "service/run_settings.hpp"
#include "stages/chain.hpp"

namespace pipeline::service {

struct FolderWorkerOptions {
  int threads = 2;
  // Where source jobs may read documents (as `pipeline worker`'s).
  queue::SourcePolicy sources;
  // Sees every event of every run the threads work on; called from them.
  std::function<void(const std::string& run_id, const nlohmann::json& event)> observer;
  // Called once a job is over or given back, after its state is saved, so
  // that event streams waiting for it look again at once; may be null.
  std::function<void()> job_settled;
  // Lines for people (a job taken, done, failed); may be null.
  std::function<void(const std::string& line)> log;
};

class FolderWorkers {
 public:
  // Starts the threads; `store` and `board` must outlive this.
  FolderWorkers(const RunSettings& settings, checkpoints::RunStore& store, FolderJobBoard& board,
                FolderWorkerOptions options);
  // drain(0) when still running.
  ~FolderWorkers();

  // Stops taking jobs and lets each running job finish its stage in flight
  // for up to `timeout`, then stops it there; every job not finished is
  // saved and queued again for the next start. Returns once every thread
  // has ended.
  void drain(std::chrono::milliseconds timeout);

 private:
  struct Active;
  void slot();
  void work(queue::Job job);
  void for_each_active(const std::function<void(Active&)>& action);

  const RunSettings& m_settings;
  checkpoints::RunStore& m_store;
  FolderJobBoard& m_board;
  FolderWorkerOptions m_options;
  std::atomic<bool> m_stopping{false};
  std::mutex m_mutex;  // guards m_active
  std::set<std::shared_ptr<Active>> m_active;
  std::vector<std::thread> m_threads;
};

}  // namespace pipeline::service

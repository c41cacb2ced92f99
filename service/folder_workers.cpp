#include "service/folder_workers.hpp"

#include <fmt/format.h>

#include "lib/queue/job_admission.hpp"
#include "lib/util/error.hpp"
#include "service/run_execution.hpp"

namespace pipeline::service {
namespace {

using Ms = std::chrono::milliseconds;
using util::ErrorKind;
using util::FatalError;

// Transient failures of a job before it is marked failed, as a worker's.
constexpr int k_folder_max_attempts = 5;

}  // namespace

struct FolderWorkers::Active {
  std::string job_id;
  util::CancelToken cancel = util::CancelToken::ignoring_signals();
  std::atomic<bool> draining{false};
  std::atomic<bool> cancelled{false};
};

FolderWorkers::FolderWorkers(const RunSettings& settings, checkpoints::RunStore& store, FolderJobBoard& board,
                             FolderWorkerOptions options)
    : m_settings(settings), m_store(store), m_board(board), m_options(std::move(options)) {
  m_board.on_cancel([this](const std::string& job_id) {
    for_each_active([&](Active& active) {
      if (active.job_id != job_id) return;
      active.cancelled = true;
      active.cancel.cancel();
    });
  });
  m_board.set_live_workers(m_options.threads);
  for (int i = 0; i < m_options.threads; ++i) m_threads.emplace_back([this] { slot(); });
}

FolderWorkers::~FolderWorkers() { drain(Ms(0)); }

void FolderWorkers::for_each_active(const std::function<void(Active&)>& action) {
  std::lock_guard lock(m_mutex);
  for (const auto& active : m_active) action(*active);
}

void FolderWorkers::drain(Ms timeout) {
  if (m_threads.empty()) return;
  m_stopping = true;
  m_board.close();
  for_each_active([](Active& active) { active.draining = true; });
  const auto until = util::Clock::now() + timeout;
  while (util::Clock::now() < until) {
    bool busy = false;
    for_each_active([&](Active&) { busy = true; });
    if (!busy) break;
    std::this_thread::sleep_for(Ms(50));
  }
  for_each_active([](Active& active) { active.cancel.cancel(); });
  for (auto& thread : m_threads) thread.join();
  m_threads.clear();
  m_board.set_live_workers(0);
}

void FolderWorkers::slot() {
  while (!m_stopping) {
    auto job = m_board.take(Ms(1000));
    if (!job) continue;
    if (m_stopping) {
      m_board.give_back(job->job_id, Ms(0), "");
      return;
    }
    work(std::move(*job));
  }
}

void FolderWorkers::work(queue::Job job) {
  auto log = [this](const std::string& line) {
    if (m_options.log) m_options.log(queue::one_line_text(line));
  };
  auto active = std::make_shared<Active>();
  active->job_id = job.job_id;
  {
    std::lock_guard lock(m_mutex);
    m_active.insert(active);
  }
  struct Unregister {
    FolderWorkers& workers;
    std::shared_ptr<Active> active;
    ~Unregister() {
      std::lock_guard lock(workers.m_mutex);
      workers.m_active.erase(active);
    }
  } unregister{*this, active};
  struct Settled {
    const std::function<void()>& notify;
    ~Settled() {
      if (notify) notify();
    }
  } settled{m_options.job_settled};
  // A job cancelled between take() and here is not started.
  if (auto now = m_board.find(job.job_id); now && *now && (*now)->state == queue::JobState::cancelled) return;
  log(fmt::format("job {} taken (attempt {})", job.job_id, job.attempts));
  try {
    const std::string source =
        job.kind == queue::JobKind::source ? queue::admit_source(job.source, m_options.sources).value_or_throw() : "";
    auto opened = open_job_run(m_settings, m_store, job, source, std::nullopt, [&] {
      auto lock = m_store.lock(job.run_id);
      return std::move(lock).value_or_throw();
    });
    ExecutionControl control;
    control.cancel = active->cancel;
    control.observer = [&](const nlohmann::json& event) {
      if (m_options.observer) m_options.observer(job.run_id, event);
      if (event.value("event", "") != "stage_done") return;
      m_board.clear_redo(job.job_id);
      if (active->draining) active->cancel.cancel();
    };
    const int redo_from = job.redo_from;
    execute(m_settings, m_store, job.run_id, std::nullopt, redo_from,
            [redo_from](const checkpoints::RunState& run) { return stages_to_run(run, redo_from); },
            std::move(opened.lock), std::move(opened.state), std::nullopt, control);
    m_board.finish(job.job_id, queue::JobState::done, "");
    log(fmt::format("job {} done", job.job_id));
  } catch (const std::exception& thrown) {
    const auto* fatal = dynamic_cast<const FatalError*>(&thrown);
    const ErrorKind kind = fatal ? fatal->kind() : ErrorKind::failed;
    const std::string error = thrown.what();
    if (active->cancelled) {
      log(fmt::format("job {} cancelled", job.job_id));
      return;
    }
    if ((kind == ErrorKind::deadline || kind == ErrorKind::interrupted) && (active->draining || m_stopping)) {
      m_board.give_back(job.job_id, Ms(0), "");
      log(fmt::format("job {} saved and queued again for the next start: {}", job.job_id, error));
      return;
    }
    if ((kind == ErrorKind::transient || kind == ErrorKind::busy) && job.attempts < k_folder_max_attempts) {
      const Ms delay = std::min(Ms(60000), Ms(1000) * (1 << std::min(job.attempts, 6)));
      m_board.give_back(job.job_id, delay, error);
      log(fmt::format("job {}: {}; tried again in {} s", job.job_id, error, delay.count() / 1000));
      return;
    }
    m_board.finish(job.job_id, queue::JobState::failed, error);
    log(fmt::format("job {} failed: {}", job.job_id, error));
  }
}

}  // namespace pipeline::service

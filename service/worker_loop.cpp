#include "service/worker_loop.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <unistd.h>

#include "checkpoints/redis_lease.hpp"
#include "lib/llm/chat.hpp"
#include "lib/notify/webhook_notifier.hpp"
#include "lib/queue/job_admission.hpp"
#include "lib/queue/job_source.hpp"
#include "lib/queue/server_checks.hpp"
#include "lib/util/error.hpp"
#include "lib/util/host_name.hpp"
#include "lib/util/random_hex.hpp"
#include "lib/util/time.hpp"
#include "service/queue_connection.hpp"
#include "service/run_execution.hpp"
#include "stages/run_files.hpp"

namespace pipeline::service {
namespace {

using Ms = std::chrono::milliseconds;
using util::ErrorKind;
using util::FatalError;

// Transient failures of a job before it is marked failed.
constexpr int k_worker_max_attempts = 5;
// How long before --drain-timeout the jobs still running are stopped and saved.
constexpr Ms k_drain_stop_margin{2000};

// A lock the worker keeps, lent to execute(), which must not release it.
class LentRunLock final : public checkpoints::RunLock {
 public:
  explicit LentRunLock(const checkpoints::RunLock& lock) : m_lock(lock) {}
  bool held() const override { return m_lock.held(); }

 private:
  const checkpoints::RunLock& m_lock;
};

// A job a slot works on, as the worker's heartbeat sees it.
struct ActiveJob {
  queue::Delivery delivery;
  util::CancelToken cancel;
  std::atomic<bool> lost{false};
  std::atomic<bool> cancelled{false};
  std::atomic<bool> draining{false};
};

enum class JobOutcome { done, released, delayed, failed, lost, cancelled };

class Worker {
 public:
  Worker(const RunSettings& settings, std::unique_ptr<checkpoints::RedisRunStore> store, const WorkerOptions& worker)
      : m_settings(settings),
        m_worker(worker),
        m_lease(worker.lease),
        m_drain(worker.drain_timeout),
        m_deadline(worker.deadline),
        m_store(std::move(store)),
        m_sources(worker.sources),
        m_id(fmt::format("{}-{}-{}", util::host_name(), ::getpid(), util::random_hex(3))) {
    if (m_lease < Ms(1000)) throw FatalError(ErrorKind::usage, "--lease must be at least 1s");
    m_store->set_lease_ttl(m_lease);
  }

  int run() {
    check_server_fitness();
    auto heartbeat_queue = open_job_queue(*m_store, m_id);
    heartbeat_queue->register_worker(description(), m_lease).value_or_throw();
    log(fmt::format("worker {} takes jobs from {} ({} at a time, lease {} ms)", m_id, m_store->where(),
                    m_worker.once ? 1 : m_worker.concurrency, m_lease.count()));
    std::atomic<int> running{0};
    std::vector<std::thread> slots;
    const int count = m_worker.once ? 1 : m_worker.concurrency;
    for (int i = 0; i < count; ++i) {
      ++running;
      slots.emplace_back([this, &running] {
        slot();
        --running;
      });
    }
    heartbeat(*heartbeat_queue, running);
    for (auto& thread : slots) thread.join();
    (void)heartbeat_queue->unregister_worker();
    log(fmt::format("worker {} stopped", m_id));
    return m_exit_code;
  }

 private:
  // One line whatever the text holds (errors may quote what a job's entry held).
  void log(const std::string& text) const {
    if (m_worker.log) m_worker.log(queue::one_line_text(text));
  }

  std::string description() const {
    return nlohmann::json{{"pid", ::getpid()},
                          {"host", util::host_name()},
                          {"concurrency", m_worker.concurrency},
                          {"started_at", m_started_at}}
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  void check_server_fitness() {
    auto connection = m_store->new_connection();
    const auto fitness = queue::check_server(*connection).value_or_throw();
    if (const auto refusal = queue::eviction_refusal(fitness, m_store->where())) {
      throw FatalError(ErrorKind::bad_input, *refusal);
    }
    if (!fitness.persistent) {
      log(fmt::format("warning: Redis at {} keeps nothing on disk (appendonly no, no RDB snapshots): a restart "
                      "of the server loses every job and run",
                      m_store->where()));
    }
  }

  // Renews the worker's key and the entries of its jobs every third of the
  // lease, notices cancelled jobs, and on SIGTERM drains: no new jobs, the
  // stages in flight finish up to --drain-timeout, then are abandoned.
  void heartbeat(queue::JobQueue& jobs, const std::atomic<int>& running) {
    auto last_beat = util::Clock::now();
    std::optional<util::Clock::time_point> drain_until;
    while (running > 0) {
      std::this_thread::sleep_for(Ms(100));
      const auto now = util::Clock::now();
      if (util::received_stop_signal() && !m_stopping) {
        m_stopping = true;
        drain_until = now + m_drain;
        log("stopping: no new jobs; the stages in flight finish, then their jobs go back to the queue");
        for_each_active([](ActiveJob& active) { active.draining = true; });
      }
      if (drain_until && now > *drain_until - std::min(k_drain_stop_margin, m_drain / 4)) {
        for_each_active([](ActiveJob& active) { active.cancel.cancel(); });
      }
      if (drain_until && now > *drain_until) abandon(jobs);
      if (now - last_beat < m_lease / 3) continue;
      last_beat = now;
      try {
        jobs.register_worker(description(), m_lease).value_or_throw();
        for_each_active([&](ActiveJob& active) {
          if (!jobs.touch(active.delivery).value_or_throw()) {
            active.lost = true;
            active.cancel.cancel();
          }
          const auto job = jobs.find(active.delivery.job.job_id).value_or_throw();
          if (job && job->state == queue::JobState::cancelled) {
            active.cancelled = true;
            active.cancel.cancel();
          }
        });
      } catch (const FatalError& error) {
        log(fmt::format("heartbeat: {}", error.what()));
      }
    }
  }

  // The drain's end: the jobs that did not stop when asked (a read that
  // does not notice) go back to the queue as they are, and the worker exits
  // 0 without waiting for them; their run leases lapse within one TTL.
  [[noreturn]] void abandon(queue::JobQueue& jobs) {
    for_each_active([&](ActiveJob& active) {
      if (auto released = jobs.release(active.delivery); !released) log(released.error().message);
      set_status(jobs, active.delivery.job.run_id, {{"status", "queued"}});
      log(fmt::format("job {} did not stop within --drain-timeout; given back to the queue as it is",
                      active.delivery.job.job_id));
    });
    (void)jobs.unregister_worker();
    log(fmt::format("worker {} stopped", m_id));
    std::fflush(nullptr);
    std::_Exit(0);
  }

  void for_each_active(const std::function<void(ActiveJob&)>& action) {
    std::lock_guard<std::mutex> guard(m_mutex);
    for (const auto& active : m_active) action(*active);
  }

  void slot() {
    std::unique_ptr<queue::JobQueue> jobs;
    auto last_reclaim = util::Clock::now() - m_lease;
    const Ms wait = m_worker.once ? Ms(1000) : std::min(Ms(2000), m_lease / 3);
    while (!m_stopping) {
      try {
        if (!jobs) {
          jobs = open_job_queue(*m_store, m_id);
          jobs->on_refused([this](const queue::Job& record) {
            log(fmt::format("refused, recorded as failed job {}: {}", record.job_id, record.error));
          });
        }
        // Entries of dead workers are looked for every third of the lease.
        std::optional<Ms> reclaim;
        if (util::Clock::now() - last_reclaim >= m_lease / 3) {
          reclaim = m_lease;
          last_reclaim = util::Clock::now();
        }
        auto delivery = jobs->take(wait, reclaim).value_or_throw();
        if (!delivery) {
          if (m_worker.once) return;
          continue;
        }
        if (m_stopping) {
          jobs->release(*delivery).value_or_throw();
          return;
        }
        const JobOutcome outcome = work(*jobs, std::move(*delivery));
        if (m_worker.once) {
          if (outcome == JobOutcome::released || outcome == JobOutcome::delayed || outcome == JobOutcome::lost) {
            m_exit_code = util::exit_code(ErrorKind::deadline);
          }
          return;
        }
      } catch (const std::exception& error) {
        // Nothing a job holds takes the worker down: the slot goes on.
        const auto* fatal = dynamic_cast<const FatalError*>(&error);
        log(error.what());
        if (m_worker.once) {
          m_exit_code = util::exit_code(fatal ? fatal->kind() : ErrorKind::failed);
          return;
        }
        std::this_thread::sleep_for(Ms(1000));
      }
    }
  }

  // Takes the run's lease; a dead worker's may take up to its TTL to lapse.
  std::unique_ptr<checkpoints::RunLock> take_lease(const queue::Delivery& delivery) {
    const auto give_up = util::Clock::now() + m_lease + Ms(2000);
    while (true) {
      auto lock = m_store->lock(delivery.job.run_id);
      if (lock) return std::move(*lock);
      if (lock.error().kind != ErrorKind::busy || util::Clock::now() > give_up || m_stopping) {
        throw FatalError(lock.error());
      }
      std::this_thread::sleep_for(Ms(250));
    }
  }

  void set_status(queue::JobQueue& jobs, const std::string& run_id, std::map<std::string, std::string> fields) {
    fields["worker"] = m_id;
    if (auto updated = jobs.update_status(run_id, fields); !updated) log("status: " + updated.error().message);
  }

  JobOutcome work(queue::JobQueue& jobs, queue::Delivery delivery) {
    const queue::Job job = delivery.job;
    jobs.update(job.job_id, {{"state", "running"},
                             {"worker", m_id},
                             {"attempts", std::to_string(job.attempts + 1)},
                             {"started_at", util::now_iso8601()},
                             {"error", ""}})
        .value_or_throw();
    set_status(jobs, job.run_id, {{"status", "running"}, {"error", ""}});
    log(fmt::format("job {} taken{}", job.job_id, delivery.reclaimed ? " over from a worker that died" : ""));
    auto active = std::make_shared<ActiveJob>();
    active->delivery = delivery;
    active->cancel = util::CancelToken::ignoring_signals(m_deadline);
    {
      std::lock_guard<std::mutex> guard(m_mutex);
      m_active.insert(active);
    }
    struct Unregister {
      Worker& worker;
      std::shared_ptr<ActiveJob> active;
      ~Unregister() {
        std::lock_guard<std::mutex> guard(worker.m_mutex);
        worker.m_active.erase(active);
      }
    } unregister{*this, active};

    std::unique_ptr<checkpoints::RunLock> lock;
    try {
      const std::string source =
          job.kind == queue::JobKind::source ? queue::admit_source(job.source, m_sources).value_or_throw() : "";
      auto opened = open_job_run(m_settings, *m_store, job, source, m_deadline, [&] { return take_lease(delivery); });
      lock = std::move(opened.lock);
      std::optional<checkpoints::RunState> state = std::move(opened.state);
      if (auto* lease = dynamic_cast<checkpoints::RedisRunLock*>(lock.get())) {
        lease->on_lost([active] {
          active->lost = true;
          active->cancel.cancel();
        });
      }
      int stages_done = 0;
      for (const auto& record : state->stages) stages_done += record.status == checkpoints::StageStatus::done;
      llm::Usage usage = llm::Usage::from_json(stages::run_usage(*state));
      std::mutex status_mutex;
      auto usage_fields = [&](std::map<std::string, std::string> fields) {
        fields["stages_done"] = std::to_string(stages_done);
        fields["tokens"] = std::to_string(usage.prompt_tokens + usage.completion_tokens);
        fields["cost_usd"] = usage.cost_usd ? fmt::format("{:.6f}", *usage.cost_usd) : std::string();
        return fields;
      };
      set_status(jobs, job.run_id, usage_fields({{"status", "running"}}));
      ExecutionControl control;
      control.cancel = active->cancel;
      control.observer = [&](const nlohmann::json& event) {
        if (m_worker.progress) m_worker.progress(event);
        const std::string name = event.value("event", "");
        if (name != "stage_started" && name != "stage_done") return;
        std::lock_guard<std::mutex> guard(status_mutex);
        if (name == "stage_started") {
          set_status(jobs, job.run_id, usage_fields({{"stage", event.value("name", "")}}));
          return;
        }
        ++stages_done;
        if (event.contains("usage") && event.at("usage").is_object()) usage += llm::Usage::from_json(event.at("usage"));
        // A finished stage is progress: the deaths before it no longer count,
        // and a redo that got this far is not started over.
        if (auto reset = jobs.update(job.job_id, {{"deaths", "0"}, {"redo_from", ""}}); !reset) log(reset.error().message);
        set_status(jobs, job.run_id, usage_fields({{"stage", event.value("name", "")}}));
        if (active->draining) active->cancel.cancel();
      };
      const int redo_from = job.redo_from;
      // The job's requests wait for the shared rate limits in the line of its priority.
      RunSettings job_settings = m_settings;
      job_settings.client.rate_priority = job.priority == queue::Priority::high  ? llm::k_rate_priority_high
                                          : job.priority == queue::Priority::low ? llm::k_rate_priority_low
                                                                                 : llm::k_rate_priority_normal;
      execute(job_settings, *m_store, job.run_id, m_deadline, redo_from,
              [redo_from](const checkpoints::RunState& run) { return stages_to_run(run, redo_from); },
              std::make_unique<LentRunLock>(*lock), std::move(state), std::nullopt, control);
      jobs.finish(delivery, queue::JobState::done, "").value_or_throw();
      set_status(jobs, job.run_id, usage_fields({{"status", "completed"}, {"stages_done", "5"}}));
      expire_finished(job, lock.get());
      log(fmt::format("job {} done", job.job_id));
      return JobOutcome::done;
    } catch (const FatalError& error) {
      return failed(jobs, delivery, *active, lock.get(), error);
    } catch (const std::exception& error) {
      return failed(jobs, delivery, *active, lock.get(), FatalError(ErrorKind::failed, error.what()));
    }
  }

  // Gives the run of a job that is over its time to live (the job's own,
  // else --ttl): every key of the run expires at the same instant, under
  // its lease. Without a lease here (a source job refused before its run
  // was made) only the job's hashes are there, and they expire alone.
  void expire_finished(const queue::Job& job, checkpoints::RunLock* lock) {
    const Ms ttl = job.ttl_s > 0 ? Ms(std::chrono::seconds(job.ttl_s)) : m_worker.ttl;
    if (ttl.count() <= 0) return;
    if (lock && lock->held()) {
      if (auto expired = m_store->expire_run(job.run_id, ttl); !expired) {
        log(fmt::format("job {}: {}", job.job_id, expired.error().message));
      }
      return;
    }
    for (const auto& key : {m_store->keys().job(job.run_id), m_store->keys().job_status(job.run_id)}) {
      if (auto expired = m_store->command({"PEXPIRE", key, std::to_string(ttl.count())}); !expired) {
        log(fmt::format("job {}: {}", job.job_id, expired.error().message));
      }
    }
  }

  // What becomes of a job the chain stopped: nothing when its lease went to
  // another worker; back in the queue when drained or out of --deadline;
  // retried later for transient errors; failed otherwise.
  JobOutcome failed(queue::JobQueue& jobs, const queue::Delivery& delivery, ActiveJob& active,
                    checkpoints::RunLock* lock, const FatalError& error) {
    const queue::Job& job = delivery.job;
    if (active.lost || (lock && !lock->held())) {
      log(fmt::format("job {}: lost the run's lease to another worker, which goes on with it ({})", job.job_id,
                      error.what()));
      return JobOutcome::lost;
    }
    auto* lease = dynamic_cast<checkpoints::RedisRunLock*>(lock);
    auto release_lease = [&] {
      if (lease) (void)lease->release();
    };
    if (active.cancelled) {
      release_lease();
      jobs.drop(delivery).value_or_throw();
      set_status(jobs, job.run_id, {{"status", "cancelled"}});
      log(fmt::format("job {} cancelled", job.job_id));
      return JobOutcome::cancelled;
    }
    const ErrorKind kind = error.kind();
    const bool stopped = kind == ErrorKind::deadline || kind == ErrorKind::interrupted;
    if (stopped && (active.draining || m_worker.once || m_stopping)) {
      release_lease();
      jobs.release(delivery).value_or_throw();
      set_status(jobs, job.run_id, {{"status", "queued"}});
      log(fmt::format("job {} saved and given back to the queue: {}", job.job_id, error.what()));
      return JobOutcome::released;
    }
    if (kind == ErrorKind::transient || kind == ErrorKind::deadline || kind == ErrorKind::busy) {
      const int attempts = job.attempts + 1;
      if (attempts < k_worker_max_attempts) {
        release_lease();
        const Ms delay = std::min(Ms(60000), Ms(1000) * (1 << std::min(attempts, 6)));
        jobs.retry_later(delivery, delay, error.what()).value_or_throw();
        set_status(jobs, job.run_id, {{"status", "retrying"}, {"error", error.what()}});
        log(fmt::format("job {}: {}; retried in {} s", job.job_id, error.what(), delay.count() / 1000));
        return JobOutcome::delayed;
      }
    }
    expire_finished(job, lock);
    release_lease();
    jobs.finish(delivery, queue::JobState::failed, error.what()).value_or_throw();
    set_status(jobs, job.run_id, {{"status", "failed"}, {"error", error.what()}});
    log(fmt::format("job {} failed: {}", job.job_id, error.what()));
    return JobOutcome::failed;
  }

  const RunSettings& m_settings;
  WorkerOptions m_worker;
  Ms m_lease;
  Ms m_drain;
  std::optional<util::Clock::time_point> m_deadline;
  std::unique_ptr<checkpoints::RedisRunStore> m_store;
  queue::SourcePolicy m_sources;
  std::string m_id;
  std::string m_started_at = util::now_iso8601();
  std::mutex m_mutex;  // guards m_active
  std::set<std::shared_ptr<ActiveJob>> m_active;
  std::atomic<bool> m_stopping{false};
  std::atomic<int> m_exit_code{0};
};

}  // namespace

int run_worker(const RunSettings& settings, std::unique_ptr<checkpoints::RedisRunStore> store,
               const WorkerOptions& options) {
  Worker worker(settings, std::move(store), options);
  return worker.run();
}

}  // namespace pipeline::service

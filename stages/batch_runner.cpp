#include "stages/batch_runner.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

namespace pipeline::stages {
namespace {

using checkpoints::RunStatus;

BatchOutcome run_one(checkpoints::RunStore& store, llm::ChatClient& client, BatchJob& job, ChainShared shared,
                     const EventSink& sink, const util::CancelToken& cancel, const PrepareRun& prepare) {
  BatchOutcome outcome{job.run_id, std::nullopt, std::nullopt};
  auto lock = job.lock ? util::Expected<std::unique_ptr<checkpoints::RunLock>>(std::move(job.lock))
                       : store.lock(job.run_id);
  if (!lock) {
    outcome.error = lock.error();
    if (auto state = store.load(job.run_id)) outcome.status = state->status;
    return outcome;
  }
  auto state = store.load(job.run_id);
  if (!state) {
    outcome.error = state.error();
    return outcome;
  }
  if (state->status == RunStatus::completed) {
    outcome.status = RunStatus::completed;
    return outcome;
  }
  if (cancel.stop_requested()) {
    outcome.status = state->status;
    outcome.error = util::Error{cancel.stop_reason() == util::StopReason::signal ? util::ErrorKind::interrupted
                                                                                  : util::ErrorKind::deadline,
                                "stopped before it started", {}};
    return outcome;
  }
  if (prepare) prepare(*state);
  Chain chain(store, client, sink, shared);
  const auto stages = Chain::remaining_stages(*state);
  auto result = chain.run(std::move(*state), stages, cancel);
  if (result) {
    outcome.status = result->status;
    return outcome;
  }
  outcome.error = result.error();
  if (auto saved = store.load(job.run_id)) outcome.status = saved->status;
  return outcome;
}

}  // namespace

std::vector<BatchOutcome> run_batch(checkpoints::RunStore& store, llm::ChatClient& client, std::vector<BatchJob> jobs,
                                    int parallel, ChainShared shared, const EventSink& sink,
                                    const util::CancelToken& cancel, const PrepareRun& prepare) {
  std::vector<BatchOutcome> outcomes(jobs.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      outcomes[i] = run_one(store, client, jobs[i], shared, sink, cancel, prepare);
    }
  };
  const auto threads_wanted = std::min<std::size_t>(jobs.size(), static_cast<std::size_t>(std::max(parallel, 1)));
  std::vector<std::jthread> threads;
  for (std::size_t i = 0; i < threads_wanted; ++i) threads.emplace_back(worker);
  threads.clear();
  return outcomes;
}

std::optional<util::ErrorKind> batch_error_kind(const std::vector<BatchOutcome>& outcomes) {
  auto any = [&](auto predicate) {
    return std::any_of(outcomes.begin(), outcomes.end(), predicate);
  };
  auto has_kind = [&](util::ErrorKind kind) {
    return any([kind](const BatchOutcome& o) { return o.error && o.error->kind == kind; });
  };
  if (has_kind(util::ErrorKind::interrupted)) return util::ErrorKind::interrupted;
  if (has_kind(util::ErrorKind::cost_limit)) return util::ErrorKind::cost_limit;
  if (any([](const BatchOutcome& o) { return o.status == RunStatus::incomplete || o.status == RunStatus::running ||
                                             o.status == RunStatus::created; })) {
    return util::ErrorKind::deadline;
  }
  for (const auto& outcome : outcomes) {
    if (outcome.error) return outcome.error->kind;
    if (outcome.status != RunStatus::completed) return util::ErrorKind::failed;
  }
  return std::nullopt;
}

}  // namespace pipeline::stages

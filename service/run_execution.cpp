#include "service/run_execution.hpp"

#include <fmt/format.h>

#include "lib/llm/chat.hpp"
#include "lib/util/error.hpp"
#include "report/report.hpp"
#include "service/run_webhooks.hpp"

namespace pipeline::service {

std::vector<int> stages_to_run(const checkpoints::RunState& state, int redo_from) {
  if (redo_from < 1) return stages::Chain::remaining_stages(state);
  std::vector<int> stages;
  for (int number = redo_from; number <= 5; ++number) stages.push_back(number);
  return stages;
}

using checkpoints::RunState;
using util::ErrorKind;
using util::FatalError;

stages::NewRun open_job_run(const RunSettings& settings, checkpoints::RunStore& store, const queue::Job& job,
                            const std::string& source, std::optional<util::Clock::time_point> deadline,
                            const std::function<std::unique_ptr<checkpoints::RunLock>()>& take_lock) {
  if (job.kind == queue::JobKind::source && !store.exists(job.run_id)) {
    NewRunOptions run;
    run.input = source;
    run.brand = job.brand;
    run.run_id = job.run_id;
    if (!job.notify.empty()) run.notify = job.notify;
    return create(settings, run, store, deadline);
  }
  stages::NewRun opened;
  opened.lock = take_lock();
  opened.state = store.load(job.run_id).value_or_throw();
  // A run this job made before (it was given back or taken over) has the
  // job's document; any other is someone else's.
  if (job.kind == queue::JobKind::source && opened.state.input.source != source) {
    throw FatalError(ErrorKind::bad_input, fmt::format("run {} exists: a source job needs a run id of its own", job.run_id));
  }
  return opened;
}

stages::NewRun create(const RunSettings& settings, const NewRunOptions& run, checkpoints::RunStore& store,
                      std::optional<util::Clock::time_point> deadline) {
  stages::NewRunRequest request;
  request.input = run.input;
  request.brand = run.brand;
  request.brand_search_dirs = settings.brands.dirs;
  request.profile = std::make_shared<const brand::BrandProfile>(
      resolve_run_brand(settings.brands, settings.store_url, store, run.brand));
  request.run_id = run.run_id;
  request.prompts_dir = run.setup.prompts_dir;
  request.ingest = settings.ingest;
  request.cancel = util::CancelToken(deadline);
  request.settings = new_run_settings(settings, run.setup);
  apply_notify(run.notify, request.settings);
  return stages::create_run(store, request).value_or_throw();
}

Execution execute(const RunSettings& settings, checkpoints::RunStore& store, const std::string& run_id,
                  std::optional<util::Clock::time_point> deadline, int redo_from,
                  const std::function<std::vector<int>(const RunState&)>& which,
                  std::unique_ptr<checkpoints::RunLock> lock, std::optional<RunState> created,
                  const std::optional<std::string>& notify, const ExecutionControl& control) {
  if (!lock) lock = store.lock(run_id).value_or_throw();
  RunState state = created ? std::move(*created) : store.load(run_id, redo_from).value_or_throw();
  const std::vector<int> stage_numbers = which(state);
  apply_notify(notify, state.settings);
  if (stage_numbers.empty() && state.status == checkpoints::RunStatus::completed) {
    // A completed run keeps a webhook URL given now for a later redo.
    if (notify) store.save(state).value_or_throw();
    return {false, std::move(state)};
  }
  // With every stage done but the run not completed (killed just after its
  // last stage), the chain runs no stage and only finishes the run.
  apply_explicit_settings(settings, state);
  RunWebhooks::check_run(state, settings.allow_private_urls);
  auto config = run_client_config(settings, state, std::nullopt, spent_usd(state));
  if (!stage_numbers.empty()) require_key(config);
  auto client = llm::make_chat_client(config);
  // Declared before the chain: its last deliveries are waited for before
  // the run's lock is released.
  RunWebhooks webhooks(store, settings.allow_private_urls);
  webhooks.watch(state);
  auto cache = open_stage_cache(settings);
  stages::Chain chain(store, *client, webhooks.sink(control.observer), {cache.get(), nullptr, report::write_reports});
  auto result = chain.run(std::move(state), stage_numbers, control.cancel.value_or(util::CancelToken(deadline)));
  if (!result) {
    const auto& error = result.error();
    switch (error.kind) {
      case ErrorKind::deadline:
      case ErrorKind::transient:
        throw FatalError(error.kind, fmt::format("run {} is incomplete: {}; {}", run_id, error.message, resume_hint(run_id)));
      case ErrorKind::interrupted:
        throw FatalError(error.kind, fmt::format("run {} was interrupted and saved: {}", run_id, resume_hint(run_id)));
      case ErrorKind::cost_limit:
        throw FatalError(error.kind, fmt::format("run {} stopped at its cost cap and was saved: {}; to go on, "
                                                 "`pipeline resume {} --max-cost <higher>`",
                                                 run_id, error.message, run_id));
      default:
        throw FatalError(error.kind, fmt::format("run {}: {}", run_id, error.message));
    }
  }
  return {true, std::move(*result)};
}

}  // namespace pipeline::service

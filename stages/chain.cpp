#include "stages/chain.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "lib/brand/brand.hpp"
#include "lib/llm/request_fingerprint.hpp"
#include "lib/util/time.hpp"
#include "stages/deadline_plan.hpp"
#include "stages/report.hpp"
#include "stages/run_files.hpp"
#include "stages/stage.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_registry.hpp"
#include "stages/stage_request.hpp"

namespace pipeline::stages {
namespace {

using checkpoints::RunState;
using checkpoints::RunStatus;
using checkpoints::StageRecord;
using checkpoints::StageStatus;
using util::Error;
using util::ErrorKind;
using util::Expected;

const Stage& stage_by_number(int number) { return *all_stages().at(static_cast<size_t>(number - 1)); }

checkpoints::ErrorRecord to_record(const Error& error) {
  return {std::string(util::to_string(error.kind)), error.message};
}

// What the stage reads, from the run's own files.
Expected<StageContext> load_context(const checkpoints::RunStore& store, const RunState& state, const Stage& stage) {
  StageContext context;
  auto text = store.read_artifact(state.run_id, k_document_path);
  if (!text) return text.error();
  context.document_text = std::move(*text);
  context.document_title = state.input.title;
  if (stage.uses_brand()) {
    auto snapshot = store.read_artifact(state.run_id, k_brand_path);
    if (!snapshot) return snapshot.error();
    auto json = nlohmann::json::parse(*snapshot, nullptr, false);
    auto profile = brand::parse_brand(json, store.location(state.run_id) + "/" + k_brand_path);
    if (!profile) return profile.error();
    context.brand_text = brand::to_prompt_text(*profile);
  }
  for (int input : stage.reads()) {
    auto output = store.read_artifact(state.run_id, output_path(stage_by_number(input)));
    if (!output) return output.error();
    auto json = nlohmann::json::parse(*output, nullptr, false);
    if (json.is_discarded()) {
      return util::fail(ErrorKind::bad_input, fmt::format("the output of stage {} in run {} is not valid JSON; redo it "
                                                          "with `pipeline resume {} --from {}`",
                                                          input, state.run_id, state.run_id,
                                                          stage_by_number(input).name()));
    }
    context.outputs[input] = std::move(json);
  }
  return context;
}

Expected<llm::ChatRequest> make_request(const checkpoints::RunStore& store, const RunState& state,
                                        const Stage& stage, const StageContext& context) {
  auto prompt_text = store.read_artifact(state.run_id, prompt_path(stage));
  if (!prompt_text) return prompt_text.error();
  auto prompt = prompts::parse_prompt(*prompt_text, store.location(state.run_id) + "/" + prompt_path(stage));
  if (!prompt) return prompt.error();
  auto params = stage_params_from_settings(stage, state.settings);
  if (!params) return params.error();
  return build_request(stage, *prompt, context, *params, state.settings.value("model", std::string()));
}

// Refuses, before anything changes, a stage whose inputs are neither done
// nor among the stages to run before it.
Expected<void> check_inputs(const RunState& state, const std::vector<int>& stages) {
  for (size_t i = 0; i < stages.size(); ++i) {
    const Stage& stage = stage_by_number(stages[i]);
    for (int input : stage.reads()) {
      const bool planned = std::find(stages.begin(), stages.begin() + static_cast<long>(i), input) !=
                           stages.begin() + static_cast<long>(i);
      if (state.stage(input).status == StageStatus::done || planned) continue;
      const Stage& missing = stage_by_number(input);
      return util::fail(ErrorKind::bad_input,
                        fmt::format("stage {} ({}) needs stage {} ({}) first: run `pipeline {} {}`", stage.number(),
                                    stage.name(), input, missing.name(), missing.name(), state.run_id));
    }
  }
  return {};
}

bool is_resumable(ErrorKind kind) {
  return kind == ErrorKind::deadline || kind == ErrorKind::transient || kind == ErrorKind::interrupted;
}

}  // namespace

Chain::Chain(checkpoints::RunStore& store, llm::ChatClient& client, EventSink sink)
    : m_store(store), m_client(client), m_sink(std::move(sink)) {}

std::vector<int> Chain::remaining_stages(const RunState& state) {
  std::vector<int> remaining;
  for (const auto& record : state.stages) {
    if (record.status != StageStatus::done || !remaining.empty()) remaining.push_back(record.number);
  }
  return remaining;
}

void Chain::emit(const RunState& state, nlohmann::json event) {
  event["run_id"] = state.run_id;
  event["time"] = util::now_iso8601();
  if (event.value("event", "") != "stage_progress") {
    // The event log is a record for people; a full disk must not stop the run.
    (void)m_store.append_event(state.run_id, event.dump());
  }
  if (m_sink) m_sink(event);
}

Expected<void> Chain::save(RunState& state) {
  state.updated_at = util::now_iso8601();
  return m_store.save(state);
}

Expected<RunState> Chain::run(RunState state, const std::vector<int>& stages, const util::CancelToken& cancel) {
  const std::string run_id = state.run_id;
  if (auto ready = check_inputs(state, stages); !ready) return ready.error();
  // A stage left "running" was cut off by a kill: the caller holds the lock now.
  for (auto& record : state.stages) {
    if (record.status == StageStatus::running) record.status = StageStatus::pending;
  }
  state.status = RunStatus::running;
  state.error.reset();
  if (auto saved = save(state); !saved) return saved.error();
  emit(state, {{"event", "run_started"}, {"stages", stages}});

  bool first = true;
  for (int number : stages) {
    auto done = run_stage(state, number, cancel, first);
    first = false;
    if (!done) {
      const Error& error = done.error();
      state.status = is_resumable(error.kind) ? RunStatus::incomplete : RunStatus::failed;
      state.error = to_record(error);
      if (auto saved = save(state); !saved) return saved.error();
      emit(state, {{"event", "run_finished"}, {"status", to_string(state.status)}, {"error", error.message},
                   {"error_kind", util::to_string(error.kind)}, {"usage", run_usage(state)}});
      return error;
    }
  }

  const bool all_done = remaining_stages(state).empty();
  if (all_done) {
    std::map<int, nlohmann::json> outputs;
    for (const auto& stage : all_stages()) {
      auto text = m_store.read_artifact(run_id, output_path(*stage));
      if (!text) return text.error();
      outputs[stage->number()] = nlohmann::json::parse(*text, nullptr, false);
    }
    auto report = m_store.write_artifact(run_id, k_report_path, render_report(run_id, outputs));
    if (!report) return report.error();
    std::erase_if(state.files, [](const auto& file) { return file.path == k_report_path; });
    state.files.push_back(*report);
  }
  state.status = all_done ? RunStatus::completed : RunStatus::incomplete;
  if (auto saved = save(state); !saved) return saved.error();
  emit(state, {{"event", "run_finished"}, {"status", to_string(state.status)}, {"usage", run_usage(state)},
               {"artifacts", run_artifacts(state)}});
  return state;
}

Expected<void> Chain::run_stage(RunState& state, int number, const util::CancelToken& cancel,
                                bool first_in_invocation) {
  const Stage& stage = stage_by_number(number);
  StageRecord& record = state.stage(number);
  if (cancel.stop_requested()) {
    return util::fail(cancel.stop_reason() == util::StopReason::signal ? ErrorKind::interrupted : ErrorKind::deadline,
                      fmt::format("stopped before stage {} ({})", number, stage.name()));
  }
  if (!should_start_stage(state, number, cancel.seconds_left(), first_in_invocation)) {
    return util::fail(ErrorKind::deadline,
                      fmt::format("not enough time left to start stage {} ({}): about {:.0f} s needed, {:.0f} s left",
                                  number, stage.name(), expected_stage_seconds(state, number).value_or(0),
                                  cancel.seconds_left().value_or(0)),
                      "deadline");
  }

  auto context = load_context(m_store, state, stage);
  if (!context) return context.error();
  auto request = make_request(m_store, state, stage, *context);
  if (!request) return request.error();

  const auto start = util::Clock::now();
  record.status = StageStatus::running;
  record.attempts += 1;
  record.started_at = util::now_iso8601();
  record.finished_at.clear();
  record.error.reset();
  if (auto saved = save(state); !saved) return saved.error();
  emit(state, {{"event", "stage_started"}, {"stage", number}, {"name", stage.name()}, {"attempt", record.attempts}});

  llm::CallObserver observer;
  observer.on_attempt = [&](const llm::Attempt& attempt) {
    if (!attempt.error_class.empty()) {
      emit(state, {{"event", "stage_retry"}, {"stage", number}, {"name", stage.name()}, {"attempt", attempt.to_json()}});
    }
  };
  observer.on_progress = [&](std::int64_t tokens) {
    emit(state, {{"event", "stage_progress"}, {"stage", number}, {"name", stage.name()}, {"tokens", tokens},
                 {"elapsed_s", util::seconds_since(start)}});
  };
  auto result = m_client.complete(*request, cancel, observer);
  const double elapsed = util::seconds_since(start);

  if (!result) {
    const Error& error = result.error();
    record.duration_s = elapsed;
    record.error = to_record(error);
    // Only a stage cut off with a whole budget counts toward "too small";
    // any other outcome breaks the row.
    record.deadline_abandons =
        error.kind == ErrorKind::deadline && first_in_invocation ? record.deadline_abandons + 1 : 0;
    const bool resumable = error.kind == ErrorKind::deadline || error.kind == ErrorKind::interrupted;
    record.status = resumable ? StageStatus::pending : StageStatus::failed;
    if (auto saved = save(state); !saved) return saved.error();
    emit(state, {{"event", "stage_failed"}, {"stage", number}, {"name", stage.name()},
                 {"error_kind", util::to_string(error.kind)}, {"error", error.message}, {"duration_s", elapsed}});
    if (error.kind == ErrorKind::deadline && record.deadline_abandons >= k_max_deadline_abandons) {
      return util::fail(ErrorKind::budget_too_small,
                        fmt::format("stage {} ({}) did not finish within the whole time budget {} times in a row "
                                    "(it ran {:.0f} s); give it a longer --deadline",
                                    number, stage.name(), record.deadline_abandons, elapsed));
    }
    return util::Error{error.kind, fmt::format("stage {} ({}): {}", number, stage.name(), error.message), error.code};
  }

  std::vector<checkpoints::ArtifactRef> artifacts;
  for (const auto& file : stage.render(result->json)) {
    auto written = m_store.write_artifact(state.run_id, file.path, file.content);
    if (!written) return written.error();
    artifacts.push_back(*written);
  }
  record.status = StageStatus::done;
  record.finished_at = util::now_iso8601();
  record.duration_s = elapsed;
  record.fingerprint = llm::request_fingerprint(*request);
  record.artifacts = std::move(artifacts);
  // A redone stage keeps what its earlier calls cost: money spent stays spent.
  auto usage = record.usage.empty() ? llm::Usage() : llm::Usage::from_json(record.usage);
  usage += result->usage;
  record.usage = usage.to_json();
  record.deadline_abandons = 0;
  for (auto& later : state.stages) {
    if (later.number > number && later.status == StageStatus::done) later.status = StageStatus::stale;
  }
  if (auto saved = save(state); !saved) return saved.error();
  nlohmann::json attempts = nlohmann::json::array();
  for (const auto& attempt : result->attempts) attempts.push_back(attempt.to_json());
  emit(state, {{"event", "stage_done"}, {"stage", number}, {"name", stage.name()}, {"duration_s", elapsed},
               {"usage", record.usage}, {"artifacts", stage_artifacts(record)}, {"attempts", attempts}});
  return {};
}

}  // namespace pipeline::stages

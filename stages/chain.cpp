#include "stages/chain.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "lib/brand/brand.hpp"
#include "lib/llm/json_schema.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/log.hpp"
#include "lib/util/sha256.hpp"
#include "lib/util/time.hpp"
#include "stages/deadline_plan.hpp"
#include "stages/run_factory.hpp"
#include "stages/run_files.hpp"
#include "stages/run_stage_work.hpp"
#include "stages/stage.hpp"
#include "stages/stage_fingerprint.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_registry.hpp"

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
    auto json = util::parse_json(*snapshot);
    if (!json) {
      return util::fail(ErrorKind::bad_input, fmt::format("{}/{}: {}", store.location(state.run_id), k_brand_path,
                                                           json.error().message));
    }
    auto profile = brand::parse_brand(*json, store.location(state.run_id) + "/" + k_brand_path);
    if (!profile) return profile.error();
    context.brand_text = brand::to_prompt_text(*profile);
    context.brand_profile = profile->json;
  }
  for (int input : stage.reads()) {
    auto output = store.read_artifact(state.run_id, output_path(stage_by_number(input)));
    if (!output) return output.error();
    auto json = util::parse_json_or_discarded(*output);
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
  return kind == ErrorKind::deadline || kind == ErrorKind::transient || kind == ErrorKind::interrupted ||
         kind == ErrorKind::cost_limit;
}

Error stopped_error(const util::CancelToken& cancel, const std::string& what) {
  return {cancel.stop_reason() == util::StopReason::signal ? ErrorKind::interrupted : ErrorKind::deadline,
          "stopped " + what, {}};
}

void add_usage(StageRecord& record, const llm::Usage& usage) {
  auto total = record.usage.empty() ? llm::Usage() : llm::Usage::from_json(record.usage);
  total += usage;
  record.usage = total.to_json();
}

void mark_later_stale(RunState& state, int number) {
  for (auto& later : state.stages) {
    if (later.number > number && later.status == StageStatus::done) later.status = StageStatus::stale;
  }
}

// Writes a stage's artifacts from its output; returns their references and
// the exact text of its output file (what the cache keeps).
Expected<std::pair<std::vector<checkpoints::ArtifactRef>, std::string>> write_stage_files(
    checkpoints::RunStore& store, const std::string& run_id, const Stage& stage, const nlohmann::json& output) {
  std::vector<checkpoints::ArtifactRef> artifacts;
  std::string output_text;
  for (const auto& file : stage.render(output)) {
    auto written = store.write_artifact(run_id, file.path, file.content);
    if (!written) return written.error();
    artifacts.push_back(*written);
    if (file.path == output_path(stage)) output_text = file.content;
  }
  return std::pair{std::move(artifacts), std::move(output_text)};
}

}  // namespace

// Everything a stage needs before it runs, read from the run's own files.
struct Chain::Prepared {
  const Stage* stage = nullptr;
  StageContext context;
  StageParams params;  // the model resolved
  std::map<std::string, prompts::PromptTemplate> prompts;
  std::string fingerprint;
};

// The chain's StageJournal for one stage of one run.
class Chain::Journal final : public StageJournal {
 public:
  Journal(Chain& chain, RunState& state, const Stage& stage) : m_chain(chain), m_state(state), m_stage(stage) {}

  // Answers saved through this journal (new parts of this invocation).
  int saved() const {
    std::lock_guard lock(m_chain.m_mutex);
    return m_saved;
  }

  std::optional<nlohmann::json> saved_part(const std::string& part, const std::string& fingerprint) override {
    std::lock_guard lock(m_chain.m_mutex);
    for (const auto& saved : m_state.stage(m_stage.number()).parts) {
      if (saved.name != part || saved.fingerprint != fingerprint) continue;
      auto text = m_chain.m_store.read_artifact(m_state.run_id, saved.artifact.path);
      if (!text || util::sha256_hex(*text) != saved.artifact.sha256) return std::nullopt;
      auto json = util::parse_json_or_discarded(*text);
      if (json.is_discarded()) return std::nullopt;
      return json;
    }
    return std::nullopt;
  }

  Expected<void> save_part(const std::string& part, const std::string& fingerprint, const std::string& model,
                           const llm::ChatResult& result) override {
    std::lock_guard lock(m_chain.m_mutex);
    auto written = m_chain.m_store.write_artifact(m_state.run_id, part_path(m_stage, part), util::dump_json(result.json, 2) + "\n");
    if (!written) return written.error();
    StageRecord& record = m_state.stage(m_stage.number());
    std::erase_if(record.parts, [&](const auto& saved) { return saved.name == part; });
    std::optional<checkpoints::ArtifactRef> reasoning;
    if (!result.reasoning.empty()) {
      auto kept = m_chain.m_store.write_artifact(m_state.run_id, reasoning_path(m_stage, part), result.reasoning);
      if (!kept) return kept.error();
      reasoning = *kept;
    }
    record.parts.push_back({part, fingerprint, *written, result.usage.to_json(), result.model, result.rung, reasoning});
    ++m_saved;
    add_usage(record, result.usage);
    const std::string prefix = part + ": ";
    std::erase_if(record.warnings, [&](const std::string& warning) { return warning.rfind(prefix, 0) == 0; });
    for (const auto& warning : result.warnings) record.warnings.push_back(prefix + warning);
    // Resume, and later stages, start from the rung that answered.
    record_rung(m_state.settings, model, result.rung);
    // And with the parameters a refusal taught, so no refusal is paid twice.
    record_model_parameters(m_state.settings, model, result.parameters);
    return m_chain.save(m_state);
  }

  void record_spent(const std::string& part, const llm::Usage& usage) override {
    std::lock_guard lock(m_chain.m_mutex);
    add_usage(m_state.stage(m_stage.number()), usage);
    if (auto saved = m_chain.save(m_state); !saved) {
      util::log_verbose(fmt::format("could not save the usage of the failed request {}: {}", part, saved.error().message));
    }
  }

  void emit(nlohmann::json event) override {
    event["stage"] = m_stage.number();
    event["name"] = m_stage.name();
    std::lock_guard lock(m_chain.m_mutex);
    m_chain.emit(m_state, std::move(event));
  }

 private:
  Chain& m_chain;
  RunState& m_state;
  const Stage& m_stage;
  int m_saved = 0;
};

Chain::Chain(checkpoints::RunStore& store, llm::ChatClient& client, EventSink sink, ChainShared shared)
    : m_store(store), m_client(client), m_sink(std::move(sink)), m_shared(shared) {}

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
    (void)m_store.append_event(state.run_id, util::dump_json(event));
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

  // Stages done before this run started are redone on purpose: they ask the
  // model again rather than the cache.
  std::vector<int> redo;
  for (int number : stages) {
    if (state.stage(number).status == StageStatus::done) redo.push_back(number);
  }
  bool first = true;
  for (int number : stages) {
    const bool redo_stage = std::find(redo.begin(), redo.end(), number) != redo.end();
    auto done = run_stage(state, number, cancel, first, redo_stage);
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
    if (m_shared.finish) {
      if (auto finished = m_shared.finish(m_store, state); !finished) return finished.error();
      if (auto flushed = m_store.flush(run_id); !flushed) return flushed.error();
    }
  }
  state.status = all_done ? RunStatus::completed : RunStatus::incomplete;
  if (auto saved = save(state); !saved) return saved.error();
  // A command that exits 0 leaves its run on the disk, whatever happens to the machine next.
  if (auto flushed = m_store.flush(run_id); !flushed) return flushed.error();
  emit(state, {{"event", "run_finished"}, {"status", to_string(state.status)}, {"usage", run_usage(state)},
               {"artifacts", run_artifacts(state)}});
  return state;
}

Expected<Chain::Prepared> Chain::prepare(const RunState& state, int number) {
  Prepared prepared;
  const Stage& stage = stage_by_number(number);
  prepared.stage = &stage;
  auto context = load_context(m_store, state, stage);
  if (!context) return context.error();
  prepared.context = std::move(*context);
  std::vector<prompts::PromptTemplate> prompt_list;
  for (const auto& name : stage.prompt_names()) {
    auto text = m_store.read_artifact(state.run_id, prompt_path(name));
    if (!text) return text.error();
    auto prompt = prompts::parse_prompt(*text, m_store.location(state.run_id) + "/" + prompt_path(name));
    if (!prompt) return prompt.error();
    prompt_list.push_back(*prompt);
    prepared.prompts.emplace(name, std::move(*prompt));
  }
  auto params = stage_params_from_settings(stage, state.settings);
  if (!params) return params.error();
  prepared.params = std::move(*params);
  if (prepared.params.model.empty()) prepared.params.model = state.settings.value("model", std::string());
  prepared.fingerprint = stage_fingerprint(stage, prompt_list, prepared.context, prepared.params,
                                           state.settings.value("base_url", std::string()));
  return prepared;
}

Expected<void> Chain::run_stage(RunState& state, int number, const util::CancelToken& cancel,
                                bool first_in_invocation, bool redo) {
  const Stage& stage = stage_by_number(number);
  if (cancel.stop_requested()) return stopped_error(cancel, fmt::format("before stage {} ({})", number, stage.name()));
  if (!should_start_stage(state, number, cancel.seconds_left(), first_in_invocation)) {
    return util::fail(ErrorKind::deadline,
                      fmt::format("not enough time left to start stage {} ({}): about {:.0f} s needed, {:.0f} s left",
                                  number, stage.name(), expected_stage_seconds(state, number).value_or(0),
                                  cancel.seconds_left().value_or(0)),
                      "deadline");
  }
  auto prepared = prepare(state, number);
  if (!prepared) return prepared.error();

  StageRecord& record = state.stage(number);
  // A redo starts afresh; a stage cut off keeps the answers it has.
  if (record.status == StageStatus::done || record.status == StageStatus::stale) {
    record.parts.clear();
    record.warnings.clear();
  }
  checkpoints::StageCache* cache = m_shared.cache;
  if (!cache || redo) return compute(state, *prepared, cancel, first_in_invocation);

  auto from_cache = [&]() -> Expected<bool> {
    auto entry = cache->find(prepared->fingerprint);
    if (!entry) return false;
    return finish_from_cache(state, *prepared, *entry);
  };
  auto used = from_cache();
  if (!used) return used.error();
  if (*used) return {};
  // Runs that need this fingerprint at once take turns: the first computes
  // it, the others find it in the cache once they get their turn.
  std::optional<util::KeyHold> hold;
  if (m_shared.latch) {
    const bool waited = !m_shared.latch->try_acquire(prepared->fingerprint);
    if (waited) {
      emit(state, {{"event", "stage_waiting"}, {"stage", number}, {"name", stage.name()},
                   {"reason", "another run is computing the same stage"}});
      if (!m_shared.latch->acquire(prepared->fingerprint, cancel)) {
        return stopped_error(cancel, fmt::format("while waiting for stage {} ({})", number, stage.name()));
      }
    }
    hold.emplace(*m_shared.latch, prepared->fingerprint);
    if (waited) {
      used = from_cache();
      if (!used) return used.error();
      if (*used) return {};
    }
  }
  return compute(state, *prepared, cancel, first_in_invocation);
}

Expected<bool> Chain::finish_from_cache(RunState& state, const Prepared& prepared,
                                        const checkpoints::CachedStage& entry) {
  const Stage& stage = *prepared.stage;
  const auto start = util::Clock::now();
  const auto output = util::parse_json_or_discarded(entry.output);
  if (output.is_discarded() || !llm::contract_violations(stage.schema(), output).empty()) {
    util::log_verbose(fmt::format("the cached output of stage {} ({}) does not fit its schema; asking the model",
                                  stage.number(), stage.name()));
    return false;
  }
  auto files = write_stage_files(m_store, state.run_id, stage, output);
  if (!files) return files.error();
  if (auto flushed = m_store.flush(state.run_id); !flushed) return flushed.error();
  StageRecord& record = state.stage(stage.number());
  record.status = StageStatus::done;
  record.cached = true;
  record.attempts += 1;
  record.started_at = util::now_iso8601();
  record.finished_at = record.started_at;
  record.duration_s = util::seconds_since(start);
  record.fingerprint = prepared.fingerprint;
  record.artifacts = std::move(files->first);
  record.error.reset();
  record.deadline_abandons = 0;
  record.warnings.clear();
  for (const auto& violation : llm::find_violations(stage.schema(), output))
    if (violation.style) record.warnings.push_back(violation.message);
  for (auto& note : stage.input_notes(prepared.context)) record.warnings.push_back(std::move(note));
  // A reused output costs nothing; money spent by earlier attempts stays spent.
  if (record.usage.empty()) {
    llm::Usage free;
    free.cost_usd = 0.0;
    record.usage = free.to_json();
  }
  mark_later_stale(state, stage.number());
  if (auto saved = save(state); !saved) return saved.error();
  emit(state, {{"event", "stage_done"}, {"stage", stage.number()}, {"name", stage.name()},
               {"duration_s", *record.duration_s}, {"cached", true}, {"cached_from", entry.run_id},
               {"usage", record.usage}, {"artifacts", stage_artifacts(record)}, {"attempts", nlohmann::json::array()}});
  return true;
}

Expected<void> Chain::compute(RunState& state, const Prepared& prepared, const util::CancelToken& cancel,
                              bool first_in_invocation) {
  const Stage& stage = *prepared.stage;
  const int number = stage.number();
  StageRecord& record = state.stage(number);
  const auto start = util::Clock::now();
  record.status = StageStatus::running;
  record.cached = false;
  record.attempts += 1;
  record.started_at = util::now_iso8601();
  record.finished_at.clear();
  record.error.reset();
  if (auto saved = save(state); !saved) return saved.error();
  emit(state, {{"event", "stage_started"}, {"stage", number}, {"name", stage.name()}, {"attempt", record.attempts}});

  Journal journal(*this, state, stage);
  RunStageWork work(prepared.context, prepared.params, prepared.params.model, prepared.prompts, m_client, cancel,
                    journal);
  work.set_cache_key(state.run_id + "/" + std::string(stage.name()));
  auto output = stage.produce(work);
  const double elapsed = util::seconds_since(start);
  std::lock_guard lock(m_mutex);
  if (output) {
    // Style rules were settled per request (kept as warnings); the contract holds or the stage fails.
    if (auto problems = llm::contract_violations(stage.schema(), *output); !problems.empty()) {
      output = util::fail(ErrorKind::failed, "the stage's combined output does not fit its schema: " + problems.front());
    }
  }

  if (!output) {
    const Error& error = output.error();
    record.duration_s = elapsed;
    record.error = to_record(error);
    // Only a stage cut off with a whole budget, and without saving a new part,
    // counts toward "too small": a stage of several rounds of requests (stage
    // 5: the plan, one card, then four) that keeps saving answers gets there.
    // Any other outcome breaks the row.
    const bool progressed = journal.saved() > 0;
    record.deadline_abandons =
        error.kind == ErrorKind::deadline && first_in_invocation && !progressed ? record.deadline_abandons + 1 : 0;
    const bool resumable = error.kind == ErrorKind::deadline || error.kind == ErrorKind::interrupted ||
                           error.kind == ErrorKind::cost_limit;
    record.status = resumable ? StageStatus::pending : StageStatus::failed;
    if (auto saved = save(state); !saved) return saved.error();
    emit(state, {{"event", "stage_failed"}, {"stage", number}, {"name", stage.name()},
                 {"error_kind", util::to_string(error.kind)}, {"error", error.message}, {"duration_s", elapsed},
                 {"attempts", work.attempts()}});
    if (error.kind == ErrorKind::deadline && record.deadline_abandons >= k_max_deadline_abandons) {
      return util::fail(ErrorKind::budget_too_small,
                        fmt::format("stage {} ({}) did not finish within the whole time budget {} times in a row "
                                    "(it ran {:.0f} s); give it a longer --deadline",
                                    number, stage.name(), record.deadline_abandons, elapsed));
    }
    return util::Error{error.kind, fmt::format("stage {} ({}): {}", number, stage.name(), error.message), error.code};
  }

  auto files = write_stage_files(m_store, state.run_id, stage, *output);
  if (!files) return files.error();
  // The files reach the disk before the checkpoint that names them done.
  if (auto flushed = m_store.flush(state.run_id); !flushed) return flushed.error();
  record.status = StageStatus::done;
  record.finished_at = util::now_iso8601();
  record.duration_s = elapsed;
  for (auto& note : stage.input_notes(prepared.context)) {
    if (std::find(record.warnings.begin(), record.warnings.end(), note) == record.warnings.end())
      record.warnings.push_back(std::move(note));
  }
  record.fingerprint = prepared.fingerprint;
  record.artifacts = std::move(files->first);
  record.deadline_abandons = 0;
  mark_later_stale(state, number);
  if (auto saved = save(state); !saved) return saved.error();
  nlohmann::json done = {{"event", "stage_done"}, {"stage", number},          {"name", stage.name()},
                         {"duration_s", elapsed},  {"cached", false},         {"calls", work.calls()},
                         {"usage", record.usage},  {"artifacts", stage_artifacts(record)},
                         {"attempts", work.attempts()}};
  const nlohmann::json answered = answered_by(record);
  for (const auto& [key, value] : answered.items()) done[key] = value;
  if (!record.warnings.empty()) done["warnings"] = record.warnings;
  emit(state, std::move(done));
  if (m_shared.cache) {
    checkpoints::CachedStage entry;
    entry.fingerprint = prepared.fingerprint;
    entry.output = files->second;
    entry.stage = std::string(stage.name());
    entry.run_id = state.run_id;
    entry.created_at = record.finished_at;
    entry.usage = record.usage;
    // The cache only saves money later; failing to fill it must not fail the run.
    if (auto put = m_shared.cache->put(entry); !put) {
      util::log_verbose("could not fill the stage cache: " + put.error().message);
    }
  }
  return {};
}

}  // namespace pipeline::stages

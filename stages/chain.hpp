#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoints/run_store.hpp"
#include "checkpoints/stage_cache.hpp"
#include "lib/llm/chat.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/expected.hpp"
#include "lib/util/key_latch.hpp"

namespace pipeline::stages {

// Receives every event of a run as it happens (run_started, stage_started,
// stage_waiting, stage_retry, stage_progress, stage_part_done, stage_done,
// stage_failed, run_finished). Called from several threads at once when a
// stage asks requests in parallel.
using EventSink = std::function<void(const nlohmann::json& event)>;

// What the runs of one process may share.
struct ChainShared {
  // Finished stage outputs by stage fingerprint; null: no cache (--no-cache).
  checkpoints::StageCache* cache = nullptr;
  // Runs of a batch that need the same stage fingerprint at once hold it in
  // turn, so one computes it and the others take it from the cache.
  util::KeyLatch* latch = nullptr;
  // Called once all five stages are done, before the run is saved as
  // completed (the caller's reports: report::write_reports); what it records
  // in the state is saved with it. Null: nothing.
  std::function<util::Expected<void>(checkpoints::RunStore&, checkpoints::RunState&)> finish;
};

// Runs stages of a run one after another, saving the checkpoint at every
// state change, so a kill at any instant loses at most the stage in flight.
// The caller holds the run's lock.
class Chain {
 public:
  Chain(checkpoints::RunStore& store, llm::ChatClient& client, EventSink sink, ChainShared shared = {});

  // Runs the given stages of a run loaded by the caller, in order. Done
  // stages among them are redone, and done stages after a redone one become
  // stale. A stage not done whose fingerprint is in the cache is taken from
  // it without a model call; the stages that were done when the call began
  // are redone on purpose and ask the model again. Stops at the first stage that fails, at the deadline, at the cost
  // cap or on a signal, with the checkpoint saved; returns the final state or
  // the error that stopped it.
  util::Expected<checkpoints::RunState> run(checkpoints::RunState state, const std::vector<int>& stages,
                                            const util::CancelToken& cancel);

  // The stages still to do, in order: every stage not done, from the first one.
  static std::vector<int> remaining_stages(const checkpoints::RunState& state);

 private:
  class Journal;
  struct Prepared;

  util::Expected<void> run_stage(checkpoints::RunState& state, int number, const util::CancelToken& cancel,
                                 bool first_in_invocation, bool redo);
  util::Expected<Prepared> prepare(const checkpoints::RunState& state, int number);
  // Finishes a stage from a cache entry; false when the entry's output is unusable.
  util::Expected<bool> finish_from_cache(checkpoints::RunState& state, const Prepared& prepared,
                                         const checkpoints::CachedStage& entry);
  util::Expected<void> compute(checkpoints::RunState& state, const Prepared& prepared,
                               const util::CancelToken& cancel, bool first_in_invocation);
  void emit(const checkpoints::RunState& state, nlohmann::json event);
  util::Expected<void> save(checkpoints::RunState& state);

  checkpoints::RunStore& m_store;
  llm::ChatClient& m_client;
  EventSink m_sink;
  ChainShared m_shared;
  // Guards the run's state, its checkpoint and its events while a stage's
  // requests run in parallel.
  std::recursive_mutex m_mutex;
};

}  // namespace pipeline::stages

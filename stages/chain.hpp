#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoints/run_store.hpp"
#include "lib/llm/chat.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::stages {

// Receives every event of a run as it happens (run_started, stage_started,
// stage_retry, stage_progress, stage_done, stage_failed, run_finished).
using EventSink = std::function<void(const nlohmann::json& event)>;

// Runs stages of a run one after another, saving the checkpoint at every
// state change, so a kill at any instant loses at most the stage in flight.
// The caller holds the run's lock.
class Chain {
 public:
  Chain(checkpoints::RunStore& store, llm::ChatClient& client, EventSink sink);

  // Runs the given stages of a run loaded by the caller, in order. Done
  // stages among them are redone, and done stages after a redone one become
  // stale. Stops at the first stage that fails, at the deadline or on a
  // signal, with the checkpoint saved; returns the final state or the error
  // that stopped it.
  util::Expected<checkpoints::RunState> run(checkpoints::RunState state, const std::vector<int>& stages,
                                            const util::CancelToken& cancel);

  // The stages still to do, in order: every stage not done, from the first one.
  static std::vector<int> remaining_stages(const checkpoints::RunState& state);

 private:
  util::Expected<void> run_stage(checkpoints::RunState& state, int number, const util::CancelToken& cancel,
                                 bool first_in_invocation);
  void emit(const checkpoints::RunState& state, nlohmann::json event);
  util::Expected<void> save(checkpoints::RunState& state);

  checkpoints::RunStore& m_store;
  llm::ChatClient& m_client;
  EventSink m_sink;
};

}  // namespace pipeline::stages

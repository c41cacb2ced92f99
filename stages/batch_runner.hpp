#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checkpoints/run_store.hpp"
#include "lib/llm/chat.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/error.hpp"
#include "stages/chain.hpp"

namespace pipeline::stages {

// A run for the batch runner, with its lock when the caller holds it already
// (a batch that has just created its runs).
struct BatchJob {
  std::string run_id;
  std::unique_ptr<checkpoints::RunLock> lock;
};

// What became of one run in this invocation.
struct BatchOutcome {
  std::string run_id;
  std::optional<checkpoints::RunStatus> status;  // after this invocation; nullopt when it could not be read
  std::optional<util::Error> error;              // why it is not completed
};

// Called with each run's state before it runs (e.g. to record provider
// settings given now); may change it.
using PrepareRun = std::function<void(checkpoints::RunState&)>;

// Runs every job's remaining stages, at most `parallel` runs at once, each
// through its own Chain over the shared client (whose limits therefore hold
// across the batch), cache and latch. A completed run is left as it is; a
// run locked by another process is reported busy. Stops starting runs once
// `cancel` stops. Returns one outcome per job, in the jobs' order.
std::vector<BatchOutcome> run_batch(checkpoints::RunStore& store, llm::ChatClient& client, std::vector<BatchJob> jobs,
                                    int parallel, ChainShared shared, const EventSink& sink,
                                    const util::CancelToken& cancel, const PrepareRun& prepare = {});

// The error kind a batch exits with: nullopt when every run completed;
// interrupted when a signal stopped it; else cost_limit when the cap stopped a
// run; else deadline when some run can be resumed; else the first failure's.
std::optional<util::ErrorKind> batch_error_kind(const std::vector<BatchOutcome>& outcomes);

}  // namespace pipeline::stages

#pragma once

// Making and running runs, shared by `pipeline run`, `resume` and the stage
// commands (cli/run_commands.cpp) and the queue's worker
// (service/worker_loop.cpp), so a worker runs a job exactly as
// `pipeline resume` runs a run.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checkpoints/run_store.hpp"
#include "lib/queue/job.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/time.hpp"
#include "service/run_settings.hpp"
#include "stages/chain.hpp"
#include "stages/run_factory.hpp"

namespace pipeline::service {

// What a new run is made of.
struct NewRunOptions {
  std::string input;   // a local path or an http(s) URL
  std::string brand;   // a brand id or the path of a brand file
  std::string run_id;  // empty: generated
  RunSetup setup;
  // The webhook URL the run keeps; nullopt or '' for none.
  std::optional<std::string> notify;
};

// What a caller that supervises a run adds to execute().
struct ExecutionControl {
  // Stops the chain instead of a token of the deadline and the stop signals.
  std::optional<util::CancelToken> cancel;
  // Sees every event of the chain (a progress printer, a worker's status),
  // before the webhooks do.
  stages::EventSink observer;
};

// What execute() did.
struct Execution {
  // False when the run was complete already and no stage was asked for.
  bool ran = true;
  // The run as it stands now.
  checkpoints::RunState state;
};

// The stages a job runs: with `redo_from` (1-5) that stage and every later
// one, done or not; else the stages not done yet.
std::vector<int> stages_to_run(const checkpoints::RunState& state, int redo_from);

// The run a job works on, with its lock held: a source job's run is made
// (its document read from `source`, already admitted by the caller's source
// policy) unless a run of that id exists, which must then be the one this job
// made before; any other job's run is loaded after `take_lock` took its lock.
// Throws FatalError.
stages::NewRun open_job_run(const RunSettings& settings, checkpoints::RunStore& store, const queue::Job& job,
                            const std::string& source, std::optional<util::Clock::time_point> deadline,
                            const std::function<std::unique_ptr<checkpoints::RunLock>()>& take_lock);

// Ingests the document, snapshots brand and prompts and saves the new run;
// returns it with its lock held. Throws FatalError.
stages::NewRun create(const RunSettings& settings, const NewRunOptions& run, checkpoints::RunStore& store,
                      std::optional<util::Clock::time_point> deadline = std::nullopt);

// Runs `which` stages of the run under its lock (taken here unless the caller
// passes it), writes its reports once all five stages are done, and returns
// the outcome; throws FatalError when the chain stops before the end.
// `redo_from` is the first stage redone whatever its state, whose artifacts
// need no check. A caller that has just created the run passes its lock and
// state. A given `notify` replaces the webhook URL the run keeps ('' ends its
// webhooks).
Execution execute(const RunSettings& settings, checkpoints::RunStore& store, const std::string& run_id,
                  std::optional<util::Clock::time_point> deadline, int redo_from,
                  const std::function<std::vector<int>(const checkpoints::RunState&)>& which,
                  std::unique_ptr<checkpoints::RunLock> lock = nullptr,
                  std::optional<checkpoints::RunState> created = std::nullopt,
                  const std::optional<std::string>& notify = std::nullopt,
                  const ExecutionControl& control = ExecutionControl{});

}  // namespace pipeline::service

#pragma once

// Making and running runs, shared by the commands of cli/run_commands.cpp
// and the queue's worker (cli/worker_command.cpp), so a worker runs a job
// exactly as `pipeline resume` runs a run.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checkpoints/run_store.hpp"
#include "cli/app.hpp"
#include "cli/notify_options.hpp"
#include "cli/run_support.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/time.hpp"
#include "stages/chain.hpp"
#include "stages/run_factory.hpp"

namespace pipeline::cli {

// Options of the commands that create a run.
struct NewRunOptions {
  std::string input;
  std::string brand;
  std::string run_id;
  RunSetupOptions setup;
  NotifyOption notify;
};

// What a caller that supervises a run (a worker) adds to execute().
struct ExecutionControl {
  // Stops the chain instead of a token of the deadline and the stop signals.
  std::optional<util::CancelToken> cancel;
  // Sees every event of the chain too, after the printer and the webhooks.
  stages::EventSink observer;
};

// Ingests the document, snapshots brand and prompts and saves the new run;
// returns it with its lock held. Throws FatalError.
stages::NewRun create(const GlobalOptions& options, const NewRunOptions& run, checkpoints::RunStore& store,
                      std::optional<util::Clock::time_point> deadline = std::nullopt);

// Runs `which` stages of the run under its lock (taken here unless the caller
// passes it) and reports the outcome; throws FatalError when the chain stops
// before the end. `redo_from` is the first stage redone whatever its state.
void execute(const CLI::App& app, const GlobalOptions& options, checkpoints::RunStore& store,
             const std::string& run_id, std::optional<util::Clock::time_point> deadline, int redo_from,
             const std::function<std::vector<int>(const checkpoints::RunState&)>& which,
             std::unique_ptr<checkpoints::RunLock> lock = nullptr,
             std::optional<checkpoints::RunState> created = std::nullopt, const NotifyOption& notify = NotifyOption{},
             const ExecutionControl& control = ExecutionControl{});

}  // namespace pipeline::cli

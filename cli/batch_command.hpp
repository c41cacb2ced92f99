#pragma once

#include <optional>
#include <string>

#include "checkpoints/run_store.hpp"
#include "cli/app.hpp"
#include "cli/notify_options.hpp"
#include "lib/util/time.hpp"

namespace pipeline::cli {

// `pipeline resume <batch_id>`: runs the batch's unfinished runs. `jobs` 0
// keeps the batch's own --jobs; a given --notify replaces (or with '' ends)
// the webhooks of every run.
void resume_batch(const CLI::App& app, const GlobalOptions& options, checkpoints::RunStore& store,
                  const std::string& batch_id, std::optional<util::Clock::time_point> deadline, int jobs,
                  const NotifyOption& notify);

// `pipeline status <batch_id>`: a table of the batch's runs, or JSON.
void print_batch_status(const GlobalOptions& options, checkpoints::RunStore& store, const std::string& batch_id);

}  // namespace pipeline::cli

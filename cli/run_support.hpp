#pragma once

// What the commands that make and run runs (cli/run_commands.cpp), batches
// (cli/batch_command.cpp) and the queue (cli/queue_commands.cpp) share: the
// options they resolve into the service layer's settings.

#include <memory>
#include <optional>
#include <string>

#include "checkpoints/run_store.hpp"
#include "cli/app.hpp"
#include "cli/notify_options.hpp"
#include "lib/brand/brand.hpp"
#include "lib/util/time.hpp"
#include "service/run_execution.hpp"
#include "service/run_settings.hpp"

namespace pipeline::cli {

// Options of the commands that create a run (new, run, submit): the run's,
// and --notify as given.
struct NewRunArgs : service::NewRunOptions {
  NotifyOption notify_option;
  // The run as service::create takes it, --notify included.
  service::NewRunOptions resolved() const {
    service::NewRunOptions resolved = *this;
    resolved.notify = notify_option.value();
    return resolved;
  }
};

// --prompts, --config and --set.
void register_setup_options(CLI::App* command, service::RunSetup& setup);

// The settings of the service layer, resolved once from the options, the
// flags given and the environment. Throws FatalError (a bad --max-cost or
// --prices is a usage error).
service::RunSettings run_settings(const CLI::App& app, const GlobalOptions& options);

// The store --store (or --runs-dir) names. Throws FatalError.
std::unique_ptr<checkpoints::RunStore> open_store(const GlobalOptions& options);
// Whether that store is a folder (else Redis).
bool is_folder_store(const GlobalOptions& options);
// The store for messages: its folder, or its Redis URL with the password masked.
std::string store_place(const GlobalOptions& options);

// The brands --brands-dir, the store and the shipped brands hold, in that order.
service::BrandSearch brand_search(const GlobalOptions& options);

// The brand --brand names (service::resolve_run_brand). Throws FatalError.
brand::BrandProfile resolve_run_brand(const GlobalOptions& options, const checkpoints::RunStore& store,
                                      const std::string& reference);

// A duration option's value (30s, 5m, 1h...). Throws a usage error naming the option.
std::chrono::milliseconds parse_duration_option(const std::string& text, const std::string& option);

// The deadline --deadline names from now; nullopt when empty. Throws a usage error.
std::optional<util::Clock::time_point> parse_deadline(const std::string& text);

// Reviews a run's cards (service::review_run) and prints the scores, or with
// --json one {"event": "review_done", "run_id", "review"} line
// (cli/review_command.cpp). Throws FatalError.
void review_printed(const GlobalOptions& options, const service::RunSettings& settings, checkpoints::RunStore& store,
                    const std::string& run_id, const std::string& model,
                    std::optional<util::Clock::time_point> deadline);

// Whether an option was given on the command line or in the environment.
bool given(const CLI::App& app, const std::string& name);

// The cost cap --max-cost gives; nullopt when not given. Throws a usage error.
std::optional<double> parse_max_cost(const GlobalOptions& options);

}  // namespace pipeline::cli

#pragma once

// What the commands that make and run runs (cli/run_commands.cpp) and
// batches (cli/batch_command.cpp) share.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checkpoints/run_store.hpp"
#include "cli/app.hpp"
#include "lib/brand/brand.hpp"
#include "lib/llm/client_config.hpp"
#include "lib/util/time.hpp"

namespace pipeline::cli {

// How new runs are set up, besides their document and brand.
struct RunSetupOptions {
  std::string prompts_dir;
  std::string config_file;
  std::vector<std::string> overrides;
};

// --prompts, --config and --set.
void register_setup_options(CLI::App* command, RunSetupOptions& setup);

// The settings of a new run: provider options, per-stage parameters from
// --config and --set, and the cost cap. Throws FatalError.
nlohmann::json new_run_settings(const GlobalOptions& options, const RunSetupOptions& setup);

// The store --store (or --runs-dir) names. Throws FatalError.
std::unique_ptr<checkpoints::RunStore> open_store(const GlobalOptions& options);
// Whether that store is a folder (else Redis).
bool is_folder_store(const GlobalOptions& options);
// The store for messages: its folder, or its Redis URL with the password masked.
std::string store_place(const GlobalOptions& options);

// The brand --brand names: a file by its path; an id in --brands-dir, then
// among the brands pushed to the store (`pipeline brands push`), then among
// the shipped ones. Throws FatalError.
brand::BrandProfile resolve_run_brand(const GlobalOptions& options, const checkpoints::RunStore& store,
                                      const std::string& reference);

// The deadline --deadline names from now; nullopt when empty. Throws a usage error.
std::optional<util::Clock::time_point> parse_deadline(const std::string& text);

// Whether an option was given on the command line or in the environment.
bool given(const CLI::App& app, const std::string& name);

// Refuses, before any work, a remote provider without a key: it could only
// answer 401 after the run had been made.
void require_key(const llm::ClientConfig& config);

// Records in a run's settings the provider settings given explicitly now (by
// flag or environment): they replace the stored ones. So does --max-cost,
// unless the cap belongs to a batch rather than to the run.
void apply_explicit_settings(const CLI::App& app, const GlobalOptions& options, checkpoints::RunState& state,
                             bool run_cost_cap = true);

// The run's status, except that "running" in a checkpoint whose lock is free
// means the process died: "interrupted".
std::string live_status(const checkpoints::RunStore& store, const checkpoints::RunState& state);

// The client settings for a run: the options, with the provider settings the
// run stores (after apply_explicit_settings). With a cost cap (the run's
// max_cost_usd, or `cap` when given), a spend guard that counts `spent_usd`
// as spent already; a model without a price is then a usage error.
llm::ClientConfig run_client_config(const GlobalOptions& options, const checkpoints::RunState& state,
                                    std::optional<double> cap, double spent_usd);

// The cost cap --max-cost gives; nullopt when not given. Throws a usage error.
std::optional<double> parse_max_cost(const GlobalOptions& options);

// "resume with `pipeline resume <id>`", for a run or a batch.
std::string resume_hint(const std::string& id);

// Money the run has spent so far, 0 when unknown.
double spent_usd(const checkpoints::RunState& state);

}  // namespace pipeline::cli

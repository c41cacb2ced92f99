#pragma once

// The settings that making and running runs take, resolved once from the
// command line and the environment by the caller (cli/ for run, resume,
// worker), and what follows from them: the store, the stage cache, the
// settings a new run keeps and the client a run is asked through.

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoints/open_run_store.hpp"
#include "checkpoints/run_store.hpp"
#include "checkpoints/stage_cache.hpp"
#include "lib/brand/brand.hpp"
#include "lib/llm/client_config.hpp"
#include "lib/llm/rate_limiter.hpp"
#include "lib/pdf/ingest.hpp"

namespace pipeline::service {

// Where brand profiles are looked for.
struct BrandSearch {
  // Searched first: a brand here wins over one pushed to the store.
  std::string first_dir;
  // The whole search path, first_dir (when set) included.
  std::vector<std::filesystem::path> dirs;
};

// Everything the service layer needs to know of how it was asked to work.
struct RunSettings {
  // The model client: provider, limits, prices given by the caller, the API
  // key. New client settings travel in it untouched.
  llm::ClientConfig client;
  // The structured-output mode as a run keeps it: "auto" or a rung name.
  std::string structured_output = "auto";
  // The provider settings given explicitly now (base_url, model,
  // structured_output, schema_dialect, reasoning_effort): they replace the
  // ones a run keeps.
  std::set<std::string> given_provider_settings;
  // The cost cap in USD given now; nullopt when none was given.
  std::optional<double> max_cost;
  // Where runs live: a folder, file:DIR, redis:// or rediss://.
  std::string store_url = "./runs";
  checkpoints::StoreOptions store;
  // The stage cache: none when disabled; else cache_dir; else the store's own
  // for a Redis store; else the default cache folder.
  bool cache_enabled = true;
  std::string cache_dir;
  BrandSearch brands;
  // How documents are fetched and read.
  pdf::IngestOptions ingest;
  // Whether document and webhook URLs may reach private addresses.
  bool allow_private_urls = false;
};

// How new runs are set up, besides their document and brand.
struct RunSetup {
  std::string prompts_dir;
  std::string config_file;
  std::vector<std::string> overrides;  // "<stage>.<key>=<value>"
};

// The store the settings name. Throws FatalError.
std::unique_ptr<checkpoints::RunStore> open_store(const RunSettings& settings);
// Whether the store a URL names is a folder (else Redis). Throws FatalError.
bool is_folder_store(const std::string& store_url);
// The rate limiter of --rpm, --tpm and the provider's headers for the store
// a URL names: in that Redis for a Redis store, shared by every process that
// uses it; within this process for a folder. Throws FatalError.
std::shared_ptr<llm::RateLimiter> open_rate_limiter(const std::string& store_url,
                                                    const checkpoints::StoreOptions& store, llm::RateWindow window = {});
// The store for messages: its folder, or its Redis URL with the password masked.
std::string store_place(const std::string& store_url);

// The stage cache the settings ask for; nullptr when disabled.
std::unique_ptr<checkpoints::StageCache> open_stage_cache(const RunSettings& settings);

// The brand a reference names: a file by its path; an id in the first
// folder, then among the brands pushed to the store (which `store_url`
// names, for messages), then on the search path. Throws FatalError.
brand::BrandProfile resolve_run_brand(const BrandSearch& brands, const std::string& store_url,
                                      const checkpoints::RunStore& store, const std::string& reference);

// The valid brands of `scan` (the search path's) and those pushed to the
// store, each id once, as a run finds it (a pushed brand over a folder's).
// Throws FatalError.
std::vector<brand::BrandProfile> listed_brands(const BrandSearch& brands, const std::string& store_url,
                                               const checkpoints::RunStore& store, const brand::BrandScan& scan);

// Refuses, before any work, a remote provider without a key: it could only
// answer 401 after the run had been made.
void require_key(const llm::ClientConfig& config);

// The settings of a new run: provider settings, per-stage parameters from the
// setup's config file and overrides, and the cost cap. Throws FatalError.
nlohmann::json new_run_settings(const RunSettings& settings, const RunSetup& setup);

// Records in a run's settings the provider settings given explicitly now:
// they replace the stored ones. So does the cost cap, unless it belongs to a
// batch rather than to the run.
void apply_explicit_settings(const RunSettings& settings, checkpoints::RunState& state, bool run_cost_cap = true);

// The client settings for a run: the settings' client, with the provider
// settings the run keeps (after apply_explicit_settings). With a cost cap
// (the run's max_cost_usd, or `cap` when given), a spend guard that counts
// `spent_usd` as spent already; a model without a price is then a usage error.
llm::ClientConfig run_client_config(const RunSettings& settings, const checkpoints::RunState& state,
                                    std::optional<double> cap, double spent_usd);

// The run's status, except that "running" in a checkpoint whose lock is free
// means the process died: "interrupted".
std::string live_status(const checkpoints::RunStore& store, const checkpoints::RunState& state);

// "resume with `pipeline resume <id>`", for a run or a batch.
std::string resume_hint(const std::string& id);

// Money the run has spent so far, 0 when unknown.
double spent_usd(const checkpoints::RunState& state);

}  // namespace pipeline::service

#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "checkpoints/run_store.hpp"
#include "lib/brand/brand.hpp"
#include "lib/llm/model_parameters.hpp"
#include "lib/llm/provider_profile.hpp"
#include "lib/pdf/ingest.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::stages {

// Everything `pipeline new` needs to make a run.
struct NewRunRequest {
  std::string input;  // a PDF path or an http(s) URL
  std::string brand;  // a brand id or a path to a brand file
  std::vector<std::filesystem::path> brand_search_dirs;
  // The brand already resolved (from a store's pushed brands, for one); when
  // null, `brand` is looked up in brand_search_dirs.
  std::shared_ptr<const brand::BrandProfile> profile;
  std::string run_id;  // empty: generated
  std::string prompts_dir;  // overrides of the built-in prompts, may be empty
  // base_url, model, structured_output and "stages": {name: StageParams}.
  nlohmann::json settings;
  pdf::IngestOptions ingest;  // download caps, the URL guard, page and text limits
  util::CancelToken cancel;  // stops a download: signals and the command's deadline
  // The document already read (a batch reads each one once for all its
  // brands); when null, `input` is ingested here.
  std::shared_ptr<const pdf::ExtractedDocument> document;
};

// A run just made, with its lock still held by the creator.
struct NewRun {
  checkpoints::RunState state;
  std::unique_ptr<checkpoints::RunLock> lock;
};

// Makes a self-contained run: ingests the PDF (downloading a URL), snapshots
// the brand and the prompts into the run (recorded with their hashes in the
// checkpoint's files), and saves its first checkpoint with status "created".
// No model call. Bad input is found before the run's folder is made; a
// creation killed half-way leaves a folder without checkpoint, which is no
// run and which the next creation of that id reclaims.
util::Expected<NewRun> create_run(checkpoints::RunStore& store, const NewRunRequest& request);

// The run settings: per-stage defaults, then the config file's, then the
// overrides ("<stage>.<key>=<value>", key one of temperature, max_tokens, model).
util::Expected<nlohmann::json> build_settings(const std::string& base_url, const std::string& model,
                                              const std::string& structured_output,
                                              const nlohmann::json& config_file,
                                              const std::vector<std::string>& overrides);

// Where a run's settings keep the structured-output rung that answered, by
// model: {"structured_output_rungs": {"<model>": "strict"}}. Resume starts there.
inline constexpr const char* k_learned_rungs_key = "structured_output_rungs";

// The learned rungs of a run's settings; unknown names are skipped.
std::map<std::string, llm::StructuredRung> learned_rungs(const nlohmann::json& settings);

// Records in `settings` that `model` answered on `rung`; true when that changed them.
bool record_rung(nlohmann::json& settings, const std::string& model, const std::string& rung);

// Where a run's settings keep what each model takes (llm::ModelParameters),
// by model: read from OpenRouter's models list when the run is made, and
// whatever a refusal taught since. Every invocation of the run starts there.
inline constexpr const char* k_model_parameters_key = "model_parameters";

// The model parameters of a run's settings.
std::map<std::string, llm::ModelParameters> model_parameters(const nlohmann::json& settings);

// Records `parameters` (llm::ModelParameters::to_json) for `model` when a
// refusal taught them something; true when that changed the settings.
bool record_model_parameters(nlohmann::json& settings, const std::string& model, const nlohmann::json& parameters);

}  // namespace pipeline::stages

#include "cli/run_support.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "lib/llm/curl_transport.hpp"
#include "lib/llm/doctor.hpp"
#include "lib/llm/model_parameters.hpp"
#include "lib/llm/price_list.hpp"
#include "lib/llm/spend_guard.hpp"
#include "lib/util/error.hpp"
#include "lib/util/file_io.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/log.hpp"
#include "stages/run_factory.hpp"
#include "stages/run_files.hpp"
#include "stages/stage.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_registry.hpp"

namespace pipeline::cli {
namespace {

using util::ErrorKind;
using util::FatalError;

nlohmann::json read_config_file(const std::string& path) {
  if (path.empty()) return nlohmann::json::object();
  auto text = util::read_file(path);
  if (!text) throw FatalError(text.error());
  auto json = util::parse_json_or_discarded(*text);
  if (json.is_discarded() || !json.is_object()) {
    throw FatalError(ErrorKind::bad_input, fmt::format("config file {} is not a JSON object", path));
  }
  return json;
}

// Every model a run may ask: its own and any a stage names.
std::vector<std::string> run_models(const nlohmann::json& settings) {
  std::vector<std::string> models{settings.value("model", std::string())};
  for (const auto& stage : stages::all_stages()) {
    auto params = stages::stage_params_from_settings(*stage, settings);
    if (params && !params->model.empty()) models.push_back(params->model);
  }
  std::sort(models.begin(), models.end());
  models.erase(std::unique(models.begin(), models.end()), models.end());
  return models;
}

// Where a run's settings keep the prices read from the provider's models list.
constexpr const char* k_listed_prices_key = "prices";

// --prices over the prices the run's settings keep.
std::map<std::string, llm::Price> known_prices(const std::map<std::string, llm::Price>& given,
                                               const nlohmann::json& settings) {
  std::map<std::string, llm::Price> prices = given;
  auto listed = settings.find(k_listed_prices_key);
  if (listed == settings.end() || !listed->is_object()) return prices;
  for (const auto& [model, price] : listed->items()) {
    if (!price.is_object()) continue;
    prices.emplace(model, llm::Price{price.value("prompt_per_million", 0.0), price.value("completion_per_million", 0.0)});
  }
  return prices;
}

// What the provider's models list says of the run's models, read once (one
// GET {base}/models) and kept in the settings, so that resume and the stage
// commands use the same facts without asking again: the prices --prices does
// not give (when `want_prices`), and on OpenRouter each model's
// supported_parameters, as llm::ModelParameters (stages::k_model_parameters_key).
void add_models_list_facts(const GlobalOptions& options, nlohmann::json& settings, bool want_prices) {
  const std::string base_url = settings.value("base_url", options.base_url);
  const auto have = known_prices(client_config(options).prices, settings);
  const auto known_parameters = stages::model_parameters(settings);
  const bool openrouter = llm::is_openrouter_url(base_url);
  std::vector<std::string> missing_prices;
  std::vector<std::string> missing_parameters;
  for (const auto& model : run_models(settings)) {
    if (want_prices && have.count(model) == 0) missing_prices.push_back(model);
    if (openrouter && known_parameters.count(model) == 0) missing_parameters.push_back(model);
  }
  if (missing_prices.empty() && missing_parameters.empty()) return;
  auto config = client_config(options);
  config.base_url = base_url;
  llm::CurlTransport transport;
  auto data = llm::fetch_models_list(config, transport, util::CancelToken{});
  if (!data) {
    util::log_verbose("could not read the models list: " + data.error().message);
    return;
  }
  for (const auto& [model, price] : llm::prices_from_models_list(*data, missing_prices)) {
    settings[k_listed_prices_key][model] = {{"prompt_per_million", price.prompt_per_million},
                                            {"completion_per_million", price.completion_per_million},
                                            {"source", "GET " + config.base_url + "/models"}};
  }
  for (const auto& [model, supported] : llm::supported_parameters_from_models_list(*data, missing_parameters)) {
    settings[stages::k_model_parameters_key][model] =
        llm::with_supported_parameters(llm::table_parameters(base_url, model), supported).to_json();
  }
}

// --structured-output as a run's settings keep it: "json_schema", the older
// name of the strict rung, is stored as "strict", since a stored "json_schema"
// is the old default and reads as "auto".
std::string stored_structured_output(const GlobalOptions& options) {
  return options.structured_output == "json_schema" ? "strict" : options.structured_output;
}

// A cost cap judges each request before it is sent, so every model needs a price.
void require_prices(const std::map<std::string, llm::Price>& prices, const nlohmann::json& settings) {
  for (const auto& model : run_models(settings)) {
    if (prices.count(model) == 0) {
      throw FatalError(ErrorKind::usage,
                       fmt::format("--max-cost needs the price of model {} to judge a call before it is made, and "
                                   "the provider's models list gives none: give it with --prices "
                                   "\"{}=PROMPT,COMPLETION\" (USD per million tokens)",
                                   model, model));
    }
  }
}

}  // namespace

void register_setup_options(CLI::App* command, RunSetupOptions& setup) {
  command->add_option("--prompts", setup.prompts_dir, "Folder of <name>.prompt files that replace built-in prompts")
      ->envname("PIPELINE_PROMPTS_DIR");
  command->add_option("--config", setup.config_file,
                      "JSON file of per-stage settings: {\"stages\": {\"<stage>\": {\"temperature\": .., "
                      "\"max_tokens\": .., \"model\": ..}}}")
      ->envname("PIPELINE_CONFIG");
  command->add_option("--set", setup.overrides,
                      "A per-stage setting, e.g. --set opportunities.max_tokens=8000 or "
                      "--set mechanisms.max_input_tokens=50000 (repeatable)")
      ->allow_extra_args(false);
}

nlohmann::json new_run_settings(const GlobalOptions& options, const RunSetupOptions& setup) {
  auto settings = stages::build_settings(options.base_url, options.model, stored_structured_output(options),
                                         read_config_file(setup.config_file), setup.overrides)
                      .value_or_throw();
  settings["schema_dialect"] = options.schema_dialect;
  if (!options.reasoning_effort.empty()) settings["reasoning_effort"] = options.reasoning_effort;
  const auto cap = parse_max_cost(options);
  add_models_list_facts(options, settings, cap.has_value());
  if (cap) {
    require_prices(known_prices(client_config(options).prices, settings), settings);
    settings["max_cost_usd"] = *cap;
  }
  return settings;
}

std::unique_ptr<checkpoints::RunStore> open_store(const GlobalOptions& options) {
  return checkpoints::open_run_store(store_url(options), store_options(options)).value_or_throw();
}

bool is_folder_store(const GlobalOptions& options) {
  const auto location = checkpoints::parse_store_url(store_url(options)).value_or_throw();
  return location.kind == checkpoints::StoreLocation::Kind::folder;
}

std::string store_place(const GlobalOptions& options) {
  const auto location = checkpoints::parse_store_url(store_url(options)).value_or_throw();
  return location.kind == checkpoints::StoreLocation::Kind::folder ? location.folder : location.redis.masked();
}

brand::BrandProfile resolve_run_brand(const GlobalOptions& options, const checkpoints::RunStore& store,
                                      const std::string& reference) {
  const auto search = brand_search_dirs(options);
  if (!brand::is_valid_brand_id(reference)) return brand::resolve_brand(reference, search).value_or_throw();
  std::error_code ignored;
  if (!options.brands_dir.empty() &&
      std::filesystem::exists(std::filesystem::path(options.brands_dir) / (reference + ".json"), ignored)) {
    return brand::resolve_brand(reference, {options.brands_dir}).value_or_throw();
  }
  if (auto pushed = store.find_brand(reference).value_or_throw()) {
    const std::string source = is_folder_store(options)
                                   ? (std::filesystem::path(store_place(options)) / ".brands" / (reference + ".json")).string()
                                   : store_place(options) + "#brand:" + reference;
    auto json = util::parse_json(*pushed);
    if (!json) throw FatalError(ErrorKind::bad_input, fmt::format("{}: {}", source, json.error().message));
    return brand::parse_brand(*json, source).value_or_throw();
  }
  return brand::resolve_brand(reference, search).value_or_throw();
}

std::optional<util::Clock::time_point> parse_deadline(const std::string& text) {
  if (text.empty()) return std::nullopt;
  auto duration = util::parse_duration(text);
  if (!duration) {
    throw FatalError(ErrorKind::usage,
                     fmt::format("--deadline \"{}\" is not a duration: use e.g. 55s, 4.5m or 1h", text));
  }
  return util::Clock::now() + *duration;
}

bool given(const CLI::App& app, const std::string& name) {
  const CLI::App* root = &app;
  while (root->get_parent()) root = root->get_parent();
  return root->get_option(name)->count() > 0;
}

void require_key(const llm::ClientConfig& config) {
  if (!config.api_key.value.empty() || !config.replay_dir.empty() || llm::is_local_url(config.base_url)) return;
  throw FatalError(ErrorKind::provider,
                   fmt::format("no API key for {}: set PIPELINE_API_KEY (or OPENROUTER_API_KEY or OPENAI_API_KEY) in "
                               "the environment, or point --base-url at a local server",
                               config.base_url));
}

void apply_explicit_settings(const CLI::App& app, const GlobalOptions& options, checkpoints::RunState& state,
                             bool run_cost_cap) {
  const std::pair<const char*, std::string> provider_settings[] = {{"base_url", options.base_url},
                                                                    {"model", options.model},
                                                                    {"structured_output", stored_structured_output(options)},
                                                                    {"schema_dialect", options.schema_dialect}};
  for (const auto& [key, value] : provider_settings) {
    std::string flag = std::string("--") + key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    if (!given(app, flag) && state.settings.contains(key)) continue;
    // Rungs and parameters learned of another provider, model or dialect say nothing of the new one.
    if (state.settings.value(key, nlohmann::json()) != value) {
      state.settings.erase(stages::k_learned_rungs_key);
      state.settings.erase(stages::k_model_parameters_key);
    }
    state.settings[key] = value;
  }
  if (given(app, "--reasoning-effort")) state.settings["reasoning_effort"] = options.reasoning_effort;
  add_models_list_facts(options, state.settings, given(app, "--max-cost"));
  if (run_cost_cap && given(app, "--max-cost")) state.settings["max_cost_usd"] = *parse_max_cost(options);
}

std::string live_status(const checkpoints::RunStore& store, const checkpoints::RunState& state) {
  if (state.status != checkpoints::RunStatus::running) return std::string(checkpoints::to_string(state.status));
  return store.lock_holder(state.run_id) ? "running" : "interrupted";
}

std::optional<double> parse_max_cost(const GlobalOptions& options) {
  if (options.max_cost.empty()) return std::nullopt;
  std::size_t used = 0;
  double value = -1;
  try {
    value = std::stod(options.max_cost, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != options.max_cost.size() || !std::isfinite(value) || value <= 0) {
    throw FatalError(ErrorKind::usage,
                     fmt::format("--max-cost \"{}\" is not an amount of US dollars above 0, e.g. 0.50", options.max_cost));
  }
  return value;
}

std::string resume_hint(const std::string& id) { return fmt::format("resume with `pipeline resume {}`", id); }

double spent_usd(const checkpoints::RunState& state) {
  const auto usage = stages::run_usage(state);
  return usage.contains("cost_usd") && usage.at("cost_usd").is_number() ? usage.at("cost_usd").get<double>() : 0.0;
}

llm::ClientConfig run_client_config(const GlobalOptions& options, const checkpoints::RunState& state,
                                    std::optional<double> cap, double spent) {
  auto config = client_config(options);
  config.base_url = state.settings.at("base_url").get<std::string>();
  config.model = state.settings.at("model").get<std::string>();
  // "json_schema" was the default before the ladder existed: such runs take the ladder now.
  const std::string structured = state.settings.value("structured_output", std::string("auto"));
  config.forced_rung = structured == "auto" || structured == "json_schema" ? std::nullopt : llm::parse_rung(structured);
  config.schema_dialect = state.settings.value("schema_dialect", std::string("auto"));
  config.learned_rungs = stages::learned_rungs(state.settings);
  config.model_parameters = stages::model_parameters(state.settings);
  config.reasoning_effort = state.settings.value("reasoning_effort", config.reasoning_effort);
  if (!cap && state.settings.contains("max_cost_usd") && state.settings.at("max_cost_usd").is_number()) {
    cap = state.settings.at("max_cost_usd").get<double>();
  }
  config.prices = known_prices(config.prices, state.settings);
  if (cap) {
    require_prices(config.prices, state.settings);
    config.spend_guard = std::make_shared<llm::SpendGuard>(*cap, spent, config.prices);
  }
  return config;
}

}  // namespace pipeline::cli

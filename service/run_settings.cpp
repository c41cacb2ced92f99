#include "service/run_settings.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "lib/llm/curl_transport.hpp"
#include "lib/llm/doctor.hpp"
#include "lib/llm/model_parameters.hpp"
#include "lib/llm/price_list.hpp"
#include "lib/llm/rate_limiter.hpp"
#include "lib/queue/shared_rate_limit.hpp"
#include "checkpoints/redis_keys.hpp"
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

namespace pipeline::service {
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

// The given prices over the prices the run's settings keep.
std::map<std::string, llm::Price> known_prices(const std::map<std::string, llm::Price>& given,
                                               const nlohmann::json& settings) {
  std::map<std::string, llm::Price> prices = given;
  auto listed = settings.find(k_listed_prices_key);
  if (listed == settings.end() || !listed->is_object()) return prices;
  for (const auto& [model, price] : listed->items()) {
    if (!price.is_object()) continue;
    llm::Price known{price.value("prompt_per_million", 0.0), price.value("completion_per_million", 0.0)};
    if (auto read = price.find("cache_read_per_million"); read != price.end() && read->is_number())
      known.cache_read_per_million = read->get<double>();
    if (auto write = price.find("cache_write_per_million"); write != price.end() && write->is_number())
      known.cache_write_per_million = write->get<double>();
    prices.emplace(model, known);
  }
  return prices;
}

// What the provider's models list says of the run's models, read once (one
// GET {base}/models) and kept in the settings, so that resume and the stage
// commands use the same facts without asking again: the prices the given
// prices lack (when `want_prices`), and on OpenRouter each model's
// supported_parameters, as llm::ModelParameters (stages::k_model_parameters_key).
void add_models_list_facts(const RunSettings& run_settings, nlohmann::json& settings, bool want_prices) {
  const std::string base_url = settings.value("base_url", run_settings.client.base_url);
  const auto have = known_prices(run_settings.client.prices, settings);
  const auto known_parameters = stages::model_parameters(settings);
  const bool openrouter = llm::is_openrouter_url(base_url);
  std::vector<std::string> missing_prices;
  std::vector<std::string> missing_parameters;
  for (const auto& model : run_models(settings)) {
    if (want_prices && have.count(model) == 0) missing_prices.push_back(model);
    if (openrouter && known_parameters.count(model) == 0) missing_parameters.push_back(model);
  }
  if (missing_prices.empty() && missing_parameters.empty()) return;
  auto config = run_settings.client;
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
    if (price.cache_read_per_million)
      settings[k_listed_prices_key][model]["cache_read_per_million"] = *price.cache_read_per_million;
    if (price.cache_write_per_million)
      settings[k_listed_prices_key][model]["cache_write_per_million"] = *price.cache_write_per_million;
  }
  for (const auto& [model, supported] : llm::supported_parameters_from_models_list(*data, missing_parameters)) {
    settings[stages::k_model_parameters_key][model] =
        llm::with_supported_parameters(llm::table_parameters(base_url, model), supported).to_json();
  }
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

std::unique_ptr<checkpoints::RunStore> open_store(const RunSettings& settings) {
  return checkpoints::open_run_store(settings.store_url, settings.store).value_or_throw();
}

bool is_folder_store(const std::string& store_url) {
  const auto location = checkpoints::parse_store_url(store_url).value_or_throw();
  return location.kind == checkpoints::StoreLocation::Kind::folder;
}

std::shared_ptr<llm::RateLimiter> open_rate_limiter(const std::string& store_url,
                                                    const checkpoints::StoreOptions& store, llm::RateWindow window) {
  const auto location = checkpoints::parse_store_url(store_url).value_or_throw();
  if (location.kind == checkpoints::StoreLocation::Kind::folder) return std::make_shared<llm::LocalRateLimiter>(window);
  return std::make_shared<queue::RedisRateLimiter>(checkpoints::redis_connect_options(location.redis, store),
                                                   checkpoints::k_default_redis_prefix, window);
}

std::string store_place(const std::string& store_url) {
  const auto location = checkpoints::parse_store_url(store_url).value_or_throw();
  return location.kind == checkpoints::StoreLocation::Kind::folder ? location.folder : location.redis.masked();
}

std::unique_ptr<checkpoints::StageCache> open_stage_cache(const RunSettings& settings) {
  if (!settings.cache_enabled) return nullptr;
  if (settings.cache_dir.empty()) {
    auto shared = checkpoints::open_store_stage_cache(settings.store_url, settings.store).value_or_throw();
    if (shared) return shared;
  }
  return checkpoints::make_file_stage_cache(settings.cache_dir.empty() ? checkpoints::default_stage_cache_dir()
                                                                       : std::filesystem::path(settings.cache_dir));
}

std::vector<brand::BrandProfile> listed_brands(const BrandSearch& brands, const std::string& store_url,
                                               const checkpoints::RunStore& store, const brand::BrandScan& scan) {
  std::map<std::string, brand::BrandProfile> by_id;
  for (const auto& profile : scan.brands) by_id.emplace(profile.id, profile);
  for (const auto& id : store.list_brands()) by_id.insert_or_assign(id, resolve_run_brand(brands, store_url, store, id));
  std::vector<brand::BrandProfile> listed;
  for (auto& [id, profile] : by_id) listed.push_back(std::move(profile));
  return listed;
}

brand::BrandProfile resolve_run_brand(const BrandSearch& brands, const std::string& store_url,
                                      const checkpoints::RunStore& store, const std::string& reference) {
  const auto& search = brands.dirs;
  if (!brand::is_valid_brand_id(reference)) return brand::resolve_brand(reference, search).value_or_throw();
  std::error_code ignored;
  if (!brands.first_dir.empty() &&
      std::filesystem::exists(std::filesystem::path(brands.first_dir) / (reference + ".json"), ignored)) {
    return brand::resolve_brand(reference, {brands.first_dir}).value_or_throw();
  }
  if (auto pushed = store.find_brand(reference).value_or_throw()) {
    const std::string place = store_place(store_url);
    const std::string source = is_folder_store(store_url)
                                   ? (std::filesystem::path(place) / ".brands" / (reference + ".json")).string()
                                   : place + "#brand:" + reference;
    auto json = util::parse_json(*pushed);
    if (!json) throw FatalError(ErrorKind::bad_input, fmt::format("{}: {}", source, json.error().message));
    return brand::parse_brand(*json, source).value_or_throw();
  }
  return brand::resolve_brand(reference, search).value_or_throw();
}

void require_key(const llm::ClientConfig& config) {
  if (!config.api_key.value.empty() || !config.replay_dir.empty() || llm::is_local_url(config.base_url)) return;
  throw FatalError(ErrorKind::provider,
                   fmt::format("no API key for {}: set PIPELINE_API_KEY (or OPENROUTER_API_KEY or OPENAI_API_KEY) in "
                               "the environment, or point --base-url at a local server",
                               config.base_url));
}

nlohmann::json new_run_settings(const RunSettings& run_settings, const RunSetup& setup) {
  auto settings = stages::build_settings(run_settings.client.base_url, run_settings.client.model,
                                         run_settings.structured_output, read_config_file(setup.config_file),
                                         setup.overrides)
                      .value_or_throw();
  settings["schema_dialect"] = run_settings.client.schema_dialect;
  if (!run_settings.client.reasoning_effort.empty()) settings["reasoning_effort"] = run_settings.client.reasoning_effort;
  add_models_list_facts(run_settings, settings, run_settings.max_cost.has_value());
  if (run_settings.max_cost) {
    require_prices(known_prices(run_settings.client.prices, settings), settings);
    settings["max_cost_usd"] = *run_settings.max_cost;
  }
  return settings;
}

void apply_explicit_settings(const RunSettings& settings, checkpoints::RunState& state, bool run_cost_cap) {
  const std::pair<const char*, std::string> provider_settings[] = {
      {"base_url", settings.client.base_url},
      {"model", settings.client.model},
      {"structured_output", settings.structured_output},
      {"schema_dialect", settings.client.schema_dialect}};
  for (const auto& [key, value] : provider_settings) {
    if (settings.given_provider_settings.count(key) == 0 && state.settings.contains(key)) continue;
    // Rungs and parameters learned of another provider, model or dialect say nothing of the new one.
    if (state.settings.value(key, nlohmann::json()) != value) {
      state.settings.erase(stages::k_learned_rungs_key);
      state.settings.erase(stages::k_model_parameters_key);
    }
    state.settings[key] = value;
  }
  if (settings.given_provider_settings.count("reasoning_effort"))
    state.settings["reasoning_effort"] = settings.client.reasoning_effort;
  add_models_list_facts(settings, state.settings, settings.max_cost.has_value());
  if (run_cost_cap && settings.max_cost) state.settings["max_cost_usd"] = *settings.max_cost;
}

llm::ClientConfig run_client_config(const RunSettings& settings, const checkpoints::RunState& state,
                                    std::optional<double> cap, double spent) {
  auto config = settings.client;
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

std::string live_status(const checkpoints::RunStore& store, const checkpoints::RunState& state) {
  if (state.status != checkpoints::RunStatus::running) return std::string(checkpoints::to_string(state.status));
  return store.lock_holder(state.run_id) ? "running" : "interrupted";
}

std::string resume_hint(const std::string& id) { return fmt::format("resume with `pipeline resume {}`", id); }

double spent_usd(const checkpoints::RunState& state) {
  const auto usage = stages::run_usage(state);
  return usage.contains("cost_usd") && usage.at("cost_usd").is_number() ? usage.at("cost_usd").get<double>() : 0.0;
}

}  // namespace pipeline::service

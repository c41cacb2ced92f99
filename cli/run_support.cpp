#include "cli/run_support.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "lib/util/error.hpp"
#include "lib/util/time.hpp"

namespace pipeline::cli {
namespace {

using util::ErrorKind;
using util::FatalError;

// --structured-output as a run's settings keep it: "json_schema", the older
// name of the strict rung, is stored as "strict", since a stored "json_schema"
// is the old default and reads as "auto".
std::string stored_structured_output(const GlobalOptions& options) {
  return options.structured_output == "json_schema" ? "strict" : options.structured_output;
}

}  // namespace

void register_setup_options(CLI::App* command, service::RunSetup& setup) {
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

service::RunSettings run_settings(const CLI::App& app, const GlobalOptions& options) {
  service::RunSettings settings;
  settings.client = client_config(options);
  settings.structured_output = stored_structured_output(options);
  for (const char* key : {"base_url", "model", "structured_output", "schema_dialect", "reasoning_effort"}) {
    std::string flag = std::string("--") + key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    if (given(app, flag)) settings.given_provider_settings.insert(key);
  }
  settings.max_cost = parse_max_cost(options);
  settings.store_url = store_url(options);
  settings.store = store_options(options);
  const auto window = util::parse_duration(options.rate_window);
  if (!window || window->count() < 100) {
    throw FatalError(ErrorKind::usage, "PIPELINE_RATE_WINDOW is a duration of 100ms or more, e.g. 60s");
  }
  settings.client.rate_limiter = service::open_rate_limiter(settings.store_url, settings.store, {*window});
  settings.cache_enabled = !options.no_cache;
  settings.cache_dir = options.cache_dir;
  settings.brands = brand_search(options);
  settings.ingest = ingest_options(options);
  settings.allow_private_urls = options.allow_private_urls;
  return settings;
}

std::unique_ptr<checkpoints::RunStore> open_store(const GlobalOptions& options) {
  return checkpoints::open_run_store(store_url(options), store_options(options)).value_or_throw();
}

bool is_folder_store(const GlobalOptions& options) { return service::is_folder_store(store_url(options)); }

std::string store_place(const GlobalOptions& options) { return service::store_place(store_url(options)); }

service::BrandSearch brand_search(const GlobalOptions& options) {
  return {options.brands_dir, brand_search_dirs(options)};
}

brand::BrandProfile resolve_run_brand(const GlobalOptions& options, const checkpoints::RunStore& store,
                                      const std::string& reference) {
  return service::resolve_run_brand(brand_search(options), store_url(options), store, reference);
}

std::chrono::milliseconds parse_duration_option(const std::string& text, const std::string& option) {
  const auto duration = util::parse_duration(text);
  if (!duration) {
    throw FatalError(ErrorKind::usage, fmt::format("{} takes a duration such as 30s, not \"{}\"", option, text));
  }
  return *duration;
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

}  // namespace pipeline::cli

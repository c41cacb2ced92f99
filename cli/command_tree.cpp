#include "cli/command_tree.hpp"

#include <algorithm>
#include <map>

#include "stages/stage_registry.hpp"

namespace pipeline::cli {
namespace {

using Type = ValueKind::Type;

// Values that only a name tells apart: CLI11 keeps no more than a type name
// for a string option, so these are looked up by the option's name.
const std::map<std::string, Type>& kinds_by_name() {
  static const std::map<std::string, Type> kinds{
      {"run_id", Type::run_id},       {"job_id", Type::run_id},       {"--brand", Type::brand},        {"brand", Type::brand},
      {"run_a", Type::run_id},        {"run_b", Type::run_id},         {"--html", Type::file},
      {"input", Type::file},          {"inputs", Type::file},          {"files", Type::file},
      {"--config", Type::file},       {"--runs-dir", Type::directory}, {"--brands-dir", Type::directory},
      {"--cache-dir", Type::directory}, {"--record", Type::directory}, {"--replay", Type::directory},
      {"--prompts", Type::directory}, {"--redis-ca", Type::file}, {"--output", Type::file},
  };
  return kinds;
}

// The options that take a stage by number or name.
const std::vector<std::string> k_stage_option_names{"stage", "--stage", "--from"};

std::vector<std::string> stage_choices() {
  std::vector<std::string> choices;
  for (const auto& stage : stages::all_stages()) choices.push_back(std::to_string(stage->number()));
  for (const auto& stage : stages::all_stages()) choices.emplace_back(stage->name());
  return choices;
}

// The values of a CLI::IsMember check, read back from the description it
// gives the option's type name ("TEXT:{auto,strict,prompt}").
std::vector<std::string> member_choices(const CLI::Option& option) {
  const std::string type = option.get_type_name();
  const auto open = type.find('{');
  const auto close = type.find('}', open);
  if (open == std::string::npos || close == std::string::npos) return {};
  const std::string inside = type.substr(open + 1, close - open - 1);
  if (inside.find("->") != std::string::npos) return {};  // a Transformer's mapping, not a list of values
  std::vector<std::string> choices;
  std::size_t start = 0;
  while (start <= inside.size()) {
    const auto comma = std::min(inside.find(',', start), inside.size());
    if (comma > start) choices.push_back(inside.substr(start, comma - start));
    start = comma + 1;
  }
  return choices;
}

}  // namespace

void build_app(CLI::App& app, GlobalOptions& options) {
  app.name("pipeline");
  app.description("pipeline: turns a PDF about an innovation into five brand-specific opportunity cards");
  app.set_version_flag("--version", std::string("pipeline ") + PIPELINE_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Global options may stand before or after the command; each has an environment fallback\n"
      "where shown (precedence: flag, environment, default). The API key is read only from\n"
      "PIPELINE_API_KEY, else OPENROUTER_API_KEY, else OPENAI_API_KEY.\n\n"
      "Exit codes: 0 ok; 1 failed; 2 usage error; 3 bad input (PDF, brand, run not found, corrupt\n"
      "checkpoint); 4 provider error that needs a person; 5 run busy; 6 time budget too small for a\n"
      "stage; 7 cost cap (--max-cost) reached; 75 incomplete but resumable; 130/143 interrupted by\n"
      "SIGINT/SIGTERM after saving.");
  register_global_options(app, options);
  register_extract_command(app, options);
  register_brands_command(app, options);
  register_doctor_command(app, options);
  register_run_commands(app, options);
  register_batch_command(app, options);
  register_report_command(app, options);
  register_compare_command(app, options);
  register_review_command(app, options);
  register_queue_commands(app, options);
  register_worker_command(app, options);
  register_serve_command(app, options);
  register_prune_command(app, options);
  register_completion_command(app);
  register_manpage_command(app);
}

ValueKind value_kind(const CLI::Option& option) {
  if (option.get_type_size_max() == 0) return {};
  auto choices = member_choices(option);
  if (!choices.empty()) return {Type::choice, std::move(choices)};
  const std::string name = option.get_name();
  if (std::find(k_stage_option_names.begin(), k_stage_option_names.end(), name) != k_stage_option_names.end()) {
    return {Type::choice, stage_choices()};
  }
  const auto known = kinds_by_name().find(name);
  if (known != kinds_by_name().end()) return {known->second, {}};
  return {Type::text, {}};
}

std::vector<std::string> value_kind_names() {
  std::vector<std::string> names = k_stage_option_names;
  for (const auto& [name, type] : kinds_by_name()) names.push_back(name);
  return names;
}

std::vector<const CLI::App*> visible_subcommands(const CLI::App& command) {
  return command.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
}

}  // namespace pipeline::cli

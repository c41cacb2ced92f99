#include "stages/run_factory.hpp"

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "lib/brand/brand.hpp"
#include "lib/pdf/ingest.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/sha256.hpp"
#include "lib/util/time.hpp"
#include "stages/run_files.hpp"
#include "stages/stage.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_registry.hpp"

namespace pipeline::stages {
namespace {

using util::ErrorKind;
using util::Expected;

// The document's name for a generated id: the URL's or file's last part.
std::string document_name(const std::string& input) {
  auto name = input.substr(input.find_last_of('/') + 1);
  name = name.substr(0, name.find_first_of("?#"));
  return name.empty() ? "document" : name;
}

// One "--set <stage>.<key>=<value>" as {stage name, {key: value}}; the value
// is read as JSON when it parses (numbers), else as a string (model names).
Expected<std::pair<std::string, nlohmann::json>> parse_override(const std::string& text) {
  const auto eq = text.find('=');
  const auto dot = text.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq) {
    return util::fail(ErrorKind::usage, fmt::format("--set {}: expected <stage>.<key>=<value>", text));
  }
  const Stage* stage = find_stage(text.substr(0, dot));
  if (!stage) return util::fail(ErrorKind::usage, fmt::format("--set {}: there is no stage \"{}\"", text, text.substr(0, dot)));
  const std::string value = text.substr(eq + 1);
  auto parsed = util::parse_json_or_discarded(value);
  if (parsed.is_discarded() || !parsed.is_primitive()) parsed = value;
  return std::pair{std::string(stage->name()), nlohmann::json{{text.substr(dot + 1, eq - dot - 1), parsed}}};
}

// Applies `params` over the settings of the stage called `name`.
Expected<void> apply_params(nlohmann::json& stages, const std::string& name, const nlohmann::json& params,
                            const std::string& where) {
  const Stage* stage = find_stage(name);
  if (!stage) return util::fail(ErrorKind::bad_input, fmt::format("{}: there is no stage \"{}\"", where, name));
  auto& current = stages[std::string(stage->name())];
  auto merged = parse_stage_params(params, StageParams::from_json(current), where);
  if (!merged) return merged.error();
  current = merged->to_json();
  return {};
}

}  // namespace

Expected<nlohmann::json> build_settings(const std::string& base_url, const std::string& model,
                                        const std::string& structured_output, const nlohmann::json& config_file,
                                        const std::vector<std::string>& overrides) {
  nlohmann::json stages = nlohmann::json::object();
  for (const auto& stage : all_stages()) stages[std::string(stage->name())] = stage->default_params().to_json();
  if (config_file.contains("stages")) {
    if (!config_file.at("stages").is_object()) return util::fail(ErrorKind::bad_input, "config: \"stages\" must be an object");
    for (const auto& [name, params] : config_file.at("stages").items()) {
      if (auto applied = apply_params(stages, name, params, "config: stages." + name); !applied) return applied.error();
    }
  }
  for (const auto& text : overrides) {
    auto override = parse_override(text);
    if (!override) return override.error();
    if (auto applied = apply_params(stages, override->first, override->second, "--set " + text); !applied) {
      return util::Error{ErrorKind::usage, applied.error().message, {}};
    }
  }
  return nlohmann::json{{"base_url", base_url}, {"model", model}, {"structured_output", structured_output},
                        {"stages", stages}};
}

Expected<NewRun> create_run(checkpoints::RunStore& store, const NewRunRequest& request) {
  if (!request.run_id.empty() && !checkpoints::is_valid_run_id(request.run_id)) {
    return util::fail(ErrorKind::usage, fmt::format("run id \"{}\" is not valid: use lowercase letters, digits, '.', '_' "
                                                    "and '-', starting with a letter or digit",
                                                    request.run_id));
  }
  if (!request.run_id.empty() && store.exists(request.run_id)) {
    return util::fail(ErrorKind::bad_input, fmt::format("run {} exists already; choose another --run-id or resume it "
                                                        "with `pipeline resume {}`",
                                                        request.run_id, request.run_id));
  }
  auto profile = request.profile ? util::Expected<brand::BrandProfile>(*request.profile)
                                 : brand::resolve_brand(request.brand, request.brand_search_dirs);
  if (!profile) return profile.error();
  if (!request.prompts_dir.empty()) {
    if (auto checked = prompts::check_prompt_dir(request.prompts_dir); !checked) return checked.error();
  }
  std::vector<std::pair<std::string, std::string>> prompt_files;
  for (const auto& stage : all_stages()) {
    for (const auto& name : stage->prompt_names()) {
      auto prompt = prompts::load_prompt(name, request.prompts_dir);
      if (!prompt) return prompt.error();
      prompt_files.emplace_back(prompt_path(name), prompts::format_prompt(*prompt));
    }
  }
  std::shared_ptr<const pdf::ExtractedDocument> document = request.document;
  if (!document) {
    auto ingested = pdf::ingest(request.input, request.ingest, request.cancel);
    if (!ingested) return ingested.error();
    document = std::make_shared<const pdf::ExtractedDocument>(std::move(*ingested));
  }

  checkpoints::RunState state;
  state.tool_version = PIPELINE_VERSION;
  state.run_id = request.run_id.empty() ? checkpoints::generate_run_id(document_name(request.input), profile->id)
                                        : request.run_id;
  state.created_at = util::now_iso8601();
  state.updated_at = state.created_at;
  state.status = checkpoints::RunStatus::created;
  state.input = {request.input, document->sha256, document->bytes, document->pages, document->chars(),
                 document->title};
  const std::string brand_snapshot = util::dump_json(profile->json, 2);
  state.brand = {profile->id, util::sha256_hex(brand_snapshot), profile->company_name};
  state.settings = request.settings;
  for (const auto& stage : all_stages()) {
    checkpoints::StageRecord record;
    record.number = stage->number();
    record.name = std::string(stage->name());
    state.stages.push_back(std::move(record));
  }

  auto lock = store.create(state.run_id);
  if (!lock) return lock.error();
  std::vector<std::pair<std::string, std::string>> files = {{k_document_path, document->text},
                                                            {k_brand_path, brand_snapshot}};
  files.insert(files.end(), prompt_files.begin(), prompt_files.end());
  for (const auto& [path, content] : files) {
    auto written = store.write_artifact(state.run_id, path, content);
    if (!written) return written.error();
    state.files.push_back(*written);
  }
  if (auto saved = store.save(state); !saved) return saved.error();
  if (auto flushed = store.flush(state.run_id); !flushed) return flushed.error();
  return NewRun{std::move(state), std::move(*lock)};
}

std::map<std::string, llm::StructuredRung> learned_rungs(const nlohmann::json& settings) {
  std::map<std::string, llm::StructuredRung> rungs;
  auto it = settings.find(k_learned_rungs_key);
  if (it == settings.end() || !it->is_object()) return rungs;
  for (const auto& [model, name] : it->items()) {
    if (!name.is_string()) continue;
    if (auto rung = llm::parse_rung(name.get<std::string>())) rungs[model] = *rung;
  }
  return rungs;
}

bool record_rung(nlohmann::json& settings, const std::string& model, const std::string& rung) {
  if (model.empty() || rung.empty()) return false;
  nlohmann::json& rungs = settings[k_learned_rungs_key];
  if (!rungs.is_object()) rungs = nlohmann::json::object();
  if (rungs.value(model, std::string()) == rung) return false;
  rungs[model] = rung;
  return true;
}

std::map<std::string, llm::ModelParameters> model_parameters(const nlohmann::json& settings) {
  std::map<std::string, llm::ModelParameters> known;
  auto it = settings.find(k_model_parameters_key);
  if (it == settings.end() || !it->is_object()) return known;
  for (const auto& [model, parameters] : it->items())
    if (parameters.is_object()) known[model] = llm::ModelParameters::from_json(parameters);
  return known;
}

bool record_model_parameters(nlohmann::json& settings, const std::string& model, const nlohmann::json& parameters) {
  if (model.empty() || !parameters.is_object()) return false;
  const auto learned = parameters.find("learned");
  if (learned == parameters.end() || !learned->is_array() || learned->empty()) return false;
  nlohmann::json& known = settings[k_model_parameters_key];
  if (!known.is_object()) known = nlohmann::json::object();
  if (known.value(model, nlohmann::json()) == parameters) return false;
  known[model] = parameters;
  return true;
}

}  // namespace pipeline::stages

#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pipeline::llm {

// Which request parameters one model takes, known before its first request
// (the table of model families below, or OpenRouter's models list) and
// corrected when a provider refuses one (learn_from_refusal). A request is
// built from it, so a model is never sent what it is known to refuse.
struct ModelParameters {
  // "max_tokens", or "max_completion_tokens" (OpenAI's reasoning models, and
  // OpenAI's own API for every model, where max_tokens is deprecated).
  std::string token_field = "max_tokens";
  bool temperature = true;       // false: the model takes no temperature (or only its default, 1)
  bool reasoning_effort = true;  // false: a reasoning effort is never sent to it
  bool reasoning_model = false;  // it thinks before it answers, often silently and for minutes
  // The role of instructions: "system", or "developer" (o1-era OpenAI models).
  std::string system_role = "system";
  // Where the facts come from, for doctor, notes and errors: "the table: ...",
  // "OpenRouter's models list", "defaults".
  std::string known_from = "defaults";
  // Parameters changed after a provider refused them, in order; each is
  // changed at most once, so a run pays at most one refusal per parameter.
  std::vector<std::string> learned;

  // One line for status and doctor: "max_completion_tokens, no temperature
  // (learned: max_tokens, temperature)", or "(<known_from>)" when nothing was learned.
  std::string describe() const;
  nlohmann::json to_json() const;
  // Reads what to_json wrote; members that are missing or of another type keep their defaults.
  static ModelParameters from_json(const nlohmann::json& json);
  bool operator==(const ModelParameters&) const = default;
};

// What `model` takes at `base_url`, from the table of model families:
//  - OpenAI's reasoning models (o1, o3, o4 and the gpt-5 family but its chat
//    variants), by name on any host (a gateway or a local proxy serves them
//    under the same names): no temperature, a reasoning effort, and
//    max_completion_tokens except on OpenRouter, which takes max_tokens and
//    maps it itself;
//  - every model on OpenAI's own API and Azure OpenAI: max_completion_tokens;
//    OpenAI's older chat models (gpt-4*, gpt-3.5*) there take no reasoning effort;
//  - anything else: max_tokens, temperature, and a reasoning effort when asked.
ModelParameters table_parameters(const std::string& base_url, const std::string& model);

// `parameters` narrowed to OpenRouter's `supported_parameters` of a model
// (its models list): temperature and the reasoning effort only when listed.
ModelParameters with_supported_parameters(ModelParameters parameters, const nlohmann::json& supported);

// The supported_parameters of each of `models` that a models list (the
// "data" array of GET {base}/models) gives; models without the field are left out.
std::map<std::string, nlohmann::json> supported_parameters_from_models_list(const nlohmann::json& data,
                                                                           const std::vector<std::string>& models);

// A parameter a provider refused, and how the request is changed for it.
struct ParameterFix {
  std::string parameter;  // "max_tokens", "temperature", "messages[0].role", ...
  std::string change;     // "sent as max_completion_tokens", "left out", ...
};

// When the error answer (`status`, `body`) to the request `sent` refuses one
// of its parameters, changes `parameters` so the next request leaves it out
// or sends it as the provider asks, and says what changed. nullopt when the
// answer refuses no parameter, or one already changed once. An OpenRouter
// 404 "No endpoints found that can handle the requested parameters" is taken
// as a refusal of the temperature, then of the reasoning effort, unless the
// models list said the model takes them.
std::optional<ParameterFix> learn_from_refusal(ModelParameters& parameters, int status, const std::string& body,
                                               const nlohmann::json& sent, bool openrouter);

}  // namespace pipeline::llm

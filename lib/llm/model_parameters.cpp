#include "lib/llm/model_parameters.hpp"

#include <algorithm>

#include "lib/llm/provider_profile.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/text.hpp"

namespace pipeline::llm {
namespace {

// The model's name without an OpenRouter vendor prefix ("openai/gpt-5-mini" -> "gpt-5-mini"), lowercase.
std::string bare_model_name(const std::string& model) {
  const auto slash = model.rfind('/');
  return util::to_lower(slash == std::string::npos ? model : model.substr(slash + 1));
}

bool starts_family(const std::string& name, std::string_view family) {
  if (name.rfind(family, 0) != 0) return false;
  return name.size() == family.size() || name[family.size()] == '-' || name[family.size()] == '.';
}

// OpenAI's reasoning models: the o-series and the gpt-5 family, but for its
// chat variants (gpt-5-chat-latest), which take a temperature as gpt-4o does.
bool is_openai_reasoning(const std::string& name) {
  for (std::string_view family : {"o1", "o3", "o4"})
    if (starts_family(name, family)) return true;
  if (name.rfind("gpt-5", 0) == 0) return name.find("-chat") == std::string::npos;
  return false;
}

// The first o1 models refuse instructions in the system and developer roles alike.
bool takes_no_instruction_role(const std::string& name) {
  return starts_family(name, "o1-mini") || starts_family(name, "o1-preview");
}

bool is_openai_host(const std::string& host) {
  return host == "api.openai.com" || host.ends_with(".openai.azure.com") ||
         host.ends_with(".cognitiveservices.azure.com");
}

bool lists(const nlohmann::json& supported, std::string_view name) {
  if (!supported.is_array()) return false;
  return std::any_of(supported.begin(), supported.end(),
                     [&](const nlohmann::json& entry) { return entry.is_string() && entry.get<std::string>() == name; });
}

bool learned_already(const ModelParameters& parameters, const std::string& name) {
  return std::find(parameters.learned.begin(), parameters.learned.end(), name) != parameters.learned.end();
}

// Whether a provider's words say that something is not taken, as OpenAI
// ("Unsupported parameter", "does not support"), Azure and older servers
// ("Unrecognized request argument supplied") and others word it.
bool says_unsupported(const std::string& lower) {
  for (const char* phrase : {"unsupported parameter", "unsupported value", "not supported", "does not support",
                             "unrecognized request argument", "unknown parameter", "extra inputs are not permitted",
                             "unrecognized field", "is not allowed"}) {
    if (lower.find(phrase) != std::string::npos) return true;
  }
  return false;
}

// The parameter an error answer names: its `param`, else the first known
// parameter its message quotes ('temperature') or names after "supplied: ".
std::string named_parameter(const nlohmann::json& error, const std::string& lower_message) {
  if (auto param = error.find("param"); param != error.end() && param->is_string() && !param->get<std::string>().empty())
    return param->get<std::string>();
  for (const char* name : {"max_completion_tokens", "max_tokens", "temperature", "top_p", "reasoning_effort",
                           "reasoning", "messages[0].role"}) {
    const std::string quoted = std::string("'") + name + "'";
    const std::string supplied = std::string("supplied: ") + name;
    if (lower_message.find(quoted) != std::string::npos || lower_message.find(supplied) != std::string::npos ||
        lower_message.find(std::string("\"") + name + "\"") != std::string::npos)
      return name;
  }
  return {};
}

const nlohmann::json& error_object(const nlohmann::json& body) {
  static const nlohmann::json empty = nlohmann::json::object();
  if (!body.is_object()) return empty;
  if (auto it = body.find("error"); it != body.end() && it->is_object()) return *it;
  return body;
}

std::optional<ParameterFix> learned(ModelParameters& parameters, std::string name, std::string change) {
  parameters.learned.push_back(name);
  return ParameterFix{std::move(name), std::move(change)};
}

}  // namespace

std::string ModelParameters::describe() const {
  std::string text = token_field;
  if (!temperature) text += ", no temperature";
  if (!reasoning_effort) text += ", no reasoning effort";
  if (system_role != "system") text += ", instructions as " + system_role;
  std::string names;
  for (const auto& name : learned) names += (names.empty() ? "" : ", ") + name;
  return text + (names.empty() ? " (" + known_from + ")" : " (learned: " + names + ")");
}

nlohmann::json ModelParameters::to_json() const {
  return {{"token_field", token_field},       {"temperature", temperature},   {"reasoning_effort", reasoning_effort},
          {"reasoning_model", reasoning_model}, {"system_role", system_role}, {"known_from", known_from},
          {"learned", learned}};
}

ModelParameters ModelParameters::from_json(const nlohmann::json& json) {
  ModelParameters parameters;
  if (!json.is_object()) return parameters;
  auto text = [&](const char* key, std::string& into, std::initializer_list<const char*> allowed) {
    auto it = json.find(key);
    if (it == json.end() || !it->is_string()) return;
    const std::string value = it->get<std::string>();
    for (const char* option : allowed)
      if (value == option) into = value;
  };
  auto flag = [&](const char* key, bool& into) {
    if (auto it = json.find(key); it != json.end() && it->is_boolean()) into = it->get<bool>();
  };
  text("token_field", parameters.token_field, {"max_tokens", "max_completion_tokens"});
  text("system_role", parameters.system_role, {"system", "developer", "user"});
  flag("temperature", parameters.temperature);
  flag("reasoning_effort", parameters.reasoning_effort);
  flag("reasoning_model", parameters.reasoning_model);
  if (auto it = json.find("known_from"); it != json.end() && it->is_string()) parameters.known_from = *it;
  if (auto it = json.find("learned"); it != json.end() && it->is_array()) {
    for (const auto& name : *it)
      if (name.is_string()) parameters.learned.push_back(name.get<std::string>());
  }
  return parameters;
}

ModelParameters table_parameters(const std::string& base_url, const std::string& model) {
  ModelParameters parameters;
  const std::string host = url_host(base_url);
  const std::string name = bare_model_name(model);
  const bool openrouter = is_openrouter_url(base_url);
  if (is_openai_reasoning(name)) {
    parameters.token_field = openrouter ? "max_tokens" : "max_completion_tokens";
    parameters.temperature = false;
    parameters.reasoning_model = true;
    parameters.known_from = "the table: OpenAI's reasoning models (o-series, gpt-5 family)";
    if (takes_no_instruction_role(name)) parameters.system_role = "user";
    return parameters;
  }
  if (is_openai_host(host)) {
    parameters.token_field = "max_completion_tokens";
    parameters.known_from = "the table: OpenAI's own API (max_tokens is deprecated there)";
    if (name.rfind("gpt-4", 0) == 0 || name.rfind("gpt-3.5", 0) == 0 || name.rfind("chatgpt-4o", 0) == 0 ||
        name.find("-chat") != std::string::npos) {
      parameters.reasoning_effort = false;
      parameters.known_from = "the table: OpenAI's chat models on its own API";
    }
  }
  return parameters;
}

ModelParameters with_supported_parameters(ModelParameters parameters, const nlohmann::json& supported) {
  if (!supported.is_array()) return parameters;
  parameters.temperature = lists(supported, "temperature");
  parameters.reasoning_effort = lists(supported, "reasoning");
  if (parameters.reasoning_effort) parameters.reasoning_model = true;
  parameters.token_field = "max_tokens";
  parameters.known_from = "OpenRouter's models list (supported_parameters)";
  return parameters;
}

std::map<std::string, nlohmann::json> supported_parameters_from_models_list(const nlohmann::json& data,
                                                                           const std::vector<std::string>& models) {
  std::map<std::string, nlohmann::json> found;
  if (!data.is_array()) return found;
  for (const auto& entry : data) {
    if (!entry.is_object()) continue;
    const auto id = entry.find("id");
    const auto supported = entry.find("supported_parameters");
    if (id == entry.end() || !id->is_string() || supported == entry.end() || !supported->is_array()) continue;
    if (std::find(models.begin(), models.end(), id->get<std::string>()) != models.end())
      found[id->get<std::string>()] = *supported;
  }
  return found;
}

std::optional<ParameterFix> learn_from_refusal(ModelParameters& parameters, int status, const std::string& body,
                                               const nlohmann::json& sent, bool openrouter) {
  const auto parsed = util::parse_json_or_discarded(body);
  const nlohmann::json& error = error_object(parsed);
  const std::string message = util::to_lower(error.value("message", std::string()));
  if (status == 404 && openrouter &&
      message.find("no endpoints found that can handle the requested parameters") != std::string::npos) {
    // OpenRouter names no parameter: the ones a model most often lacks are tried first.
    if (parameters.known_from.rfind("OpenRouter's models list", 0) == 0) return std::nullopt;
    if (sent.contains("temperature") && !learned_already(parameters, "temperature")) {
      parameters.temperature = false;
      return learned(parameters, "temperature", "left out");
    }
    if (sent.contains("reasoning") && !learned_already(parameters, "reasoning")) {
      parameters.reasoning_effort = false;
      return learned(parameters, "reasoning", "left out");
    }
    return std::nullopt;
  }
  if (status != 400 && status != 422) return std::nullopt;
  const std::string code = error.value("code", nlohmann::json()).is_string() ? error.value("code", std::string()) : "";
  if (!says_unsupported(message) && code != "unsupported_parameter" && code != "unsupported_value") return std::nullopt;
  const std::string name = named_parameter(error, message);
  if (name.empty() || learned_already(parameters, name)) return std::nullopt;
  if (name == "max_tokens" && sent.contains("max_tokens")) {
    parameters.token_field = "max_completion_tokens";
    return learned(parameters, name, "sent as max_completion_tokens");
  }
  if (name == "max_completion_tokens" && sent.contains("max_completion_tokens")) {
    parameters.token_field = "max_tokens";
    return learned(parameters, name, "sent as max_tokens");
  }
  if (name == "temperature" && sent.contains("temperature")) {
    parameters.temperature = false;
    return learned(parameters, name, "left out (the model takes only its default)");
  }
  if ((name == "reasoning_effort" && sent.contains("reasoning_effort")) ||
      (name == "reasoning" && sent.contains("reasoning"))) {
    parameters.reasoning_effort = false;
    return learned(parameters, name, "left out");
  }
  if (name.rfind("messages[", 0) == 0 && name.ends_with("].role") && parameters.system_role == "system" &&
      message.find("'system'") != std::string::npos) {
    parameters.system_role = "developer";
    return learned(parameters, "messages[0].role", "instructions sent in the developer role");
  }
  return std::nullopt;
}

}  // namespace pipeline::llm

#include "tests/fake_server/provider_dialect.hpp"

#include <algorithm>
#include <array>

namespace pipeline::testing {
namespace {

using Context = std::vector<std::string>;

// A Python tuple's repr, as OpenAI's messages print the schema path: (), ('items',), ('properties', 'x').
std::string tuple_text(const Context& context) {
  std::string text = "(";
  for (std::size_t i = 0; i < context.size(); ++i) text += (i ? ", '" : "'") + context[i] + "'";
  if (context.size() == 1) text += ",";
  return text + ")";
}

Context with(Context context, std::initializer_list<std::string> more) {
  context.insert(context.end(), more);
  return context;
}

constexpr std::array k_openai_refused = {"minLength",     "maxLength",     "patternProperties", "unevaluatedProperties",
                                         "propertyNames", "minProperties", "maxProperties",     "unevaluatedItems",
                                         "contains",      "minContains",   "maxContains",       "uniqueItems"};
constexpr std::array k_openai_formats = {"date-time", "time",     "date", "duration", "email",
                                         "hostname",  "ipv4",     "ipv6", "uuid"};

bool is_object_schema(const nlohmann::json& schema) {
  return schema.value("type", nlohmann::json()) == "object" || schema.contains("properties");
}

std::string openai_problem_at(const nlohmann::json& schema, const Context& context, const nlohmann::json& root) {
  if (!schema.is_object()) return {};
  const std::string where = "In context=" + tuple_text(context) + ", ";
  // A reference stands alone and names a definition of the root's $defs.
  if (auto ref = schema.find("$ref"); ref != schema.end()) {
    if (schema.size() > 1) return where + "$ref cannot have keywords besides it.";
    const std::string target = ref->is_string() ? ref->get<std::string>() : std::string();
    const auto defs = root.find("$defs");
    if (target.rfind("#/$defs/", 0) != 0 || defs == root.end() || !defs->contains(target.substr(8)))
      return where + "reference to component '" + target + "' which was not found in the schema.";
    return {};
  }
  for (const char* keyword : k_openai_refused) {
    if (schema.contains(keyword)) return where + "'" + keyword + "' is not permitted.";
  }
  if (auto format = schema.find("format"); format != schema.end()) {
    const std::string value = format->is_string() ? format->get<std::string>() : format->dump();
    if (std::find(k_openai_formats.begin(), k_openai_formats.end(), value) == k_openai_formats.end())
      return where + "'format' is not permitted.";
  }
  if (auto pattern = schema.find("pattern"); pattern != schema.end() && pattern->is_string()) {
    const std::string text = pattern->get<std::string>();
    for (const char* lookaround : {"(?=", "(?!", "(?<=", "(?<!"}) {
      if (text.find(lookaround) != std::string::npos) return where + "'pattern' is not permitted.";
    }
  }
  if (is_object_schema(schema)) {
    if (schema.value("additionalProperties", nlohmann::json(true)) != false)
      return where + "'additionalProperties' is required to be supplied and to be false.";
    const auto properties = schema.value("properties", nlohmann::json::object());
    const auto required = schema.value("required", nlohmann::json::array());
    for (const auto& [name, member] : properties.items()) {
      if (std::find(required.begin(), required.end(), name) == required.end()) {
        return where + "'required' is required to be supplied and to be an array including every key in "
                       "properties. Missing '" + name + "'.";
      }
    }
    for (const auto& [name, member] : properties.items()) {
      if (auto problem = openai_problem_at(member, with(context, {"properties", name}), root); !problem.empty()) return problem;
    }
  }
  if (auto items = schema.find("items"); items != schema.end()) {
    if (auto problem = openai_problem_at(*items, with(context, {"items"}), root); !problem.empty()) return problem;
  }
  if (auto options = schema.find("anyOf"); options != schema.end() && options->is_array()) {
    for (std::size_t i = 0; i < options->size(); ++i) {
      if (auto problem = openai_problem_at((*options)[i], with(context, {"anyOf", std::to_string(i)}), root); !problem.empty())
        return problem;
    }
  }
  if (auto defs = schema.find("$defs"); defs != schema.end() && defs->is_object()) {
    for (const auto& [name, member] : defs->items()) {
      if (auto problem = openai_problem_at(member, with(context, {"$defs", name}), root); !problem.empty()) return problem;
    }
  }
  return {};
}

std::string type_name(const nlohmann::json& schema) {
  const auto type = schema.value("type", nlohmann::json());
  if (type.is_string()) return type.get<std::string>();
  if (type.is_array() && !type.empty() && type[0].is_string()) return type[0].get<std::string>();
  return "object";
}

std::string anthropic_problem_at(const nlohmann::json& schema) {
  if (!schema.is_object()) return {};
  for (const char* keyword : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength",
                              "maxLength", "maxItems", "pattern", "minProperties", "maxProperties", "uniqueItems"}) {
    if (schema.contains(keyword))
      return "For '" + type_name(schema) + "' type, property '" + keyword + "' is not supported";
  }
  if (auto min_items = schema.find("minItems"); min_items != schema.end() && *min_items != 0 && *min_items != 1)
    return "For 'array' type, property 'minItems' is not supported for values other than 0 and 1";
  for (const char* nesting : {"properties", "$defs"}) {
    if (auto members = schema.find(nesting); members != schema.end() && members->is_object()) {
      for (const auto& [name, member] : members->items())
        if (auto problem = anthropic_problem_at(member); !problem.empty()) return problem;
    }
  }
  if (auto items = schema.find("items"); items != schema.end()) {
    if (auto problem = anthropic_problem_at(*items); !problem.empty()) return problem;
  }
  if (auto options = schema.find("anyOf"); options != schema.end() && options->is_array()) {
    for (const auto& option : *options)
      if (auto problem = anthropic_problem_at(option); !problem.empty()) return problem;
  }
  return {};
}

std::string openai_error(const std::string& message, const std::string& param) {
  return nlohmann::json{{"error", {{"message", message}, {"type", "invalid_request_error"}, {"param", param},
                                   {"code", nullptr}}}}
      .dump();
}

// OpenRouter's wrapping of an upstream provider's error.
std::string openrouter_upstream_error(int code, const std::string& raw, const std::string& provider) {
  return nlohmann::json{{"error", {{"message", "Provider returned error"},
                                   {"code", code},
                                   {"metadata", {{"raw", raw}, {"provider_name", provider}}}}},
                        {"user_id", "user_fake"}}
      .dump();
}

Refusal no_endpoints() {
  return {404, nlohmann::json{{"error", {{"message", "No endpoints found that can handle the requested parameters. To "
                                                     "learn more about provider routing, visit: "
                                                     "https://openrouter.ai/docs/provider-routing"},
                                         {"code", 404}}}}
                   .dump()};
}

bool mentions_json(const nlohmann::json& messages) {
  for (const auto& message : messages) {
    // Content may also be an array of parts; its text parts count.
    std::string content = message.contains("content") ? message["content"].dump() : "";
    std::transform(content.begin(), content.end(), content.begin(), [](unsigned char c) { return std::tolower(c); });
    if (content.find("json") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

const std::vector<std::string>& dialect_names() {
  static const std::vector<std::string> names = {"any",      "openai",           "anthropic", "json-object-only",
                                                 "no-structured-output", "no-usage", "openai-reasoning",
                                                 "openrouter"};
  return names;
}

std::optional<Dialect> parse_dialect(std::string_view name) {
  static constexpr std::array k_dialects = {Dialect::any, Dialect::openai, Dialect::anthropic,
                                            Dialect::json_object_only, Dialect::no_structured_output,
                                            Dialect::no_usage, Dialect::openai_reasoning, Dialect::openrouter};
  const auto& names = dialect_names();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return k_dialects[i];
  return std::nullopt;
}

std::string openai_schema_problem(const nlohmann::json& schema, const std::string& name) {
  const std::string prefix = "Invalid schema for response_format '" + name + "': ";
  if (!schema.is_object() || schema.value("type", nlohmann::json()) != "object") {
    return prefix + "schema must be a JSON Schema of 'type: \"object\"', got 'type: " +
           (schema.is_object() ? schema.value("type", nlohmann::json()).dump() : schema.dump()) + "'.";
  }
  std::string problem = openai_problem_at(schema, {}, schema);
  return problem.empty() ? problem : prefix + problem;
}

std::string anthropic_schema_problem(const nlohmann::json& schema) { return anthropic_problem_at(schema); }

std::optional<Refusal> refusal_for(Dialect dialect, const nlohmann::json& body) {
  const auto format = body.value("response_format", nlohmann::json());
  if (!format.is_object()) return std::nullopt;
  const std::string type = format.value("type", "");
  const auto wrapper = format.value("json_schema", nlohmann::json::object());
  switch (dialect) {
    case Dialect::openai:
    case Dialect::openai_reasoning:
      if (type == "json_schema" && wrapper.value("strict", false)) {
        if (auto problem = openai_schema_problem(wrapper.value("schema", nlohmann::json()), wrapper.value("name", ""));
            !problem.empty())
          return Refusal{400, openai_error(problem, "response_format")};
      }
      if (type == "json_object" && !mentions_json(body.value("messages", nlohmann::json::array()))) {
        return Refusal{400, openai_error("'messages' must contain the word 'json' in some form, to use "
                                         "'response_format' of type 'json_object'.",
                                         "messages")};
      }
      return std::nullopt;
    case Dialect::anthropic:
      // Its grammar is built from the schema whether or not strict is set.
      if (type == "json_schema") {
        if (auto problem = anthropic_problem_at(wrapper.value("schema", nlohmann::json())); !problem.empty()) {
          const std::string raw =
              nlohmann::json{{"type", "error"},
                             {"error", {{"type", "invalid_request_error"}, {"message", "output_format.schema: " + problem}}},
                             {"request_id", "req_fake"}}
                  .dump();
          return Refusal{400, openrouter_upstream_error(400, raw, "Anthropic")};
        }
      }
      return std::nullopt;
    case Dialect::openrouter:
      // OpenAI's models behind OpenRouter keep OpenAI's strict-schema rules, refused in OpenRouter's wrapping.
      if (body.value("model", "").rfind("openai/", 0) == 0 && type == "json_schema" && wrapper.value("strict", false)) {
        if (auto problem = openai_schema_problem(wrapper.value("schema", nlohmann::json()), wrapper.value("name", ""));
            !problem.empty())
          return Refusal{400, openrouter_upstream_error(400, openai_error(problem, "response_format"), "OpenAI")};
      }
      return std::nullopt;
    case Dialect::json_object_only:
      if (type == "json_schema") return no_endpoints();
      return std::nullopt;
    case Dialect::no_structured_output:
      return no_endpoints();
    default:
      return std::nullopt;
  }
}

bool reports_usage(Dialect dialect) { return dialect != Dialect::no_usage; }

nlohmann::json openrouter_supported_parameters(const std::string& model) {
  const bool reasoning = model.rfind("openai/gpt-5", 0) == 0 || model.rfind("openai/o", 0) == 0 ||
                         model.find("reasoner") != std::string::npos;
  nlohmann::json supported = {"max_tokens", "response_format", "structured_outputs", "seed", "stop", "tools",
                              "tool_choice"};
  if (reasoning) {
    supported.push_back("reasoning");
    supported.push_back("include_reasoning");
  } else {
    supported.push_back("temperature");
    supported.push_back("top_p");
  }
  return supported;
}

bool reasons(Dialect dialect, const nlohmann::json& body) {
  if (dialect == Dialect::openai_reasoning) return true;
  if (dialect != Dialect::openrouter) return false;
  const auto supported = openrouter_supported_parameters(body.value("model", ""));
  return std::find(supported.begin(), supported.end(), "reasoning") != supported.end();
}

std::optional<Refusal> parameter_refusal(Dialect dialect, const nlohmann::json& body, const nlohmann::json& supported) {
  if (dialect == Dialect::openai_reasoning) {
    if (body.contains("max_tokens")) {
      return Refusal{400, nlohmann::json{{"error", {{"message", "Unsupported parameter: 'max_tokens' is not supported "
                                                               "with this model. Use 'max_completion_tokens' instead."},
                                                   {"type", "invalid_request_error"},
                                                   {"param", "max_tokens"},
                                                   {"code", "unsupported_parameter"}}}}
                              .dump()};
    }
    if (auto temperature = body.find("temperature"); temperature != body.end() && *temperature != 1) {
      return Refusal{400, nlohmann::json{{"error", {{"message", "Unsupported value: 'temperature' does not support " +
                                                               temperature->dump() +
                                                               " with this model. Only the default (1) value is "
                                                               "supported."},
                                                   {"type", "invalid_request_error"},
                                                   {"param", "temperature"},
                                                   {"code", "unsupported_value"}}}}
                              .dump()};
    }
    return std::nullopt;
  }
  if (dialect != Dialect::openrouter || !supported.is_array()) return std::nullopt;
  const auto provider = body.value("provider", nlohmann::json::object());
  if (!provider.is_object() || !provider.value("require_parameters", false)) return std::nullopt;
  auto takes = [&](const char* name) { return std::find(supported.begin(), supported.end(), name) != supported.end(); };
  for (const char* name : {"temperature", "top_p", "reasoning", "max_tokens", "response_format", "seed", "stop"}) {
    if (body.contains(name) && !takes(name)) return no_endpoints();
  }
  return std::nullopt;
}

}  // namespace pipeline::testing

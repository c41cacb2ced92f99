#include "lib/llm/provider_profile.hpp"

#include <algorithm>
#include <cctype>

#include "lib/util/text.hpp"

namespace pipeline::llm {
namespace {

// What OpenAI's strict mode refuses with "'<keyword>' is not permitted."
const std::vector<std::string>& openai_refused() {
  static const std::vector<std::string> keywords = {
      "minLength",   "maxLength",   "patternProperties", "unevaluatedProperties", "propertyNames",
      "minProperties", "maxProperties", "unevaluatedItems", "contains", "minContains", "maxContains",
      "uniqueItems", "format"};
  return keywords;
}

std::vector<std::string> with(std::vector<std::string> keywords, std::initializer_list<const char*> more) {
  for (const char* keyword : more) keywords.emplace_back(keyword);
  return keywords;
}

ProviderProfile openai_profile() {
  ProviderProfile profile;
  profile.dialect = "openai";
  profile.refused_keywords = openai_refused();
  profile.refs = true;
  // Caching is automatic; the key sends requests that share a prefix to the same cache.
  profile.prompt_cache_key = true;
  profile.note = "strict json_schema; refuses string lengths and the keywords listed; needs 'json' in the messages "
                 "for json_object";
  return profile;
}

ProviderProfile anthropic_profile() {
  ProviderProfile profile;
  profile.dialect = "anthropic";
  // Its grammar compiler also refuses numeric, length and array bounds and patterns.
  profile.refused_keywords = with(openai_refused(), {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                                                     "multipleOf", "minItems", "maxItems", "pattern"});
  profile.nullable_as_any_of = true;
  profile.refs = true;
  // Anthropic caches only up to a block marked cache_control, directly and through OpenRouter.
  profile.cache_control = true;
  profile.note = "strict json_schema (through OpenRouter); no bounds, lengths or patterns; nullable as anyOf";
  return profile;
}

ProviderProfile gemini_profile() {
  ProviderProfile profile;
  profile.dialect = "gemini";
  // An OpenAPI 3.0 subset: types, properties, required, enum, items, item
  // counts, number bounds, nullable, anyOf and description.
  profile.refused_keywords = with(openai_refused(), {"pattern", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"});
  profile.no_type_arrays = true;
  profile.no_const = true;
  profile.no_additional_properties = true;
  profile.note = "OpenAPI-style schema subset: no const, no type arrays, no additionalProperties, no patterns";
  return profile;
}

ProviderProfile local_profile(std::string dialect, std::string note) {
  ProviderProfile profile;
  profile.dialect = std::move(dialect);
  // Local servers compile the schema into a grammar and take it whole; strict means nothing to them.
  profile.first_rung = StructuredRung::schema;
  profile.note = std::move(note);
  return profile;
}

ProviderProfile generic_profile() {
  ProviderProfile profile = openai_profile();
  profile.dialect = "generic";
  profile.prompt_cache_key = false;
  profile.refs = false;
  profile.note = "an unknown OpenAI-compatible server: lowered like OpenAI, the fallback ladder finds what it takes";
  return profile;
}

bool starts_with(const std::string& text, std::string_view prefix) { return text.rfind(prefix, 0) == 0; }

bool is_local_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "0.0.0.0" || starts_with(host, "127.") ||
         host.ends_with(".localhost");
}


}  // namespace

std::string_view to_string(StructuredRung rung) {
  switch (rung) {
    case StructuredRung::strict_schema: return "strict";
    case StructuredRung::schema: return "schema";
    case StructuredRung::json_object: return "json_object";
    case StructuredRung::prompt: return "prompt";
  }
  return "strict";
}

std::optional<StructuredRung> parse_rung(std::string_view name) {
  if (name == "strict" || name == "json_schema") return StructuredRung::strict_schema;
  if (name == "schema") return StructuredRung::schema;
  if (name == "json_object") return StructuredRung::json_object;
  if (name == "prompt") return StructuredRung::prompt;
  return std::nullopt;
}

std::optional<StructuredRung> next_rung(StructuredRung rung, const ProviderProfile& profile) {
  switch (rung) {
    case StructuredRung::strict_schema: return StructuredRung::schema;
    case StructuredRung::schema: return profile.json_object ? StructuredRung::json_object : StructuredRung::prompt;
    case StructuredRung::json_object: return StructuredRung::prompt;
    case StructuredRung::prompt: return std::nullopt;
  }
  return std::nullopt;
}

nlohmann::json ProviderProfile::to_json() const {
  return {{"dialect", dialect},
          {"chosen_by", chosen_by},
          {"refused_keywords", refused_keywords},
          {"first_rung", to_string(first_rung)},
          {"json_object", json_object},
          {"grammar_patterns", grammar_patterns},
          {"refs", refs},
          {"stream_usage", stream_usage},
          {"cache_control", cache_control},
          {"prompt_cache_key", prompt_cache_key},
          {"note", note}};
}

const std::vector<std::string>& dialect_names() {
  static const std::vector<std::string> names = {"auto",      "openai", "anthropic", "gemini",   "ollama",
                                                 "llama.cpp", "vllm",   "lm-studio", "generic"};
  return names;
}

std::optional<ProviderProfile> profile_by_dialect(std::string_view dialect) {
  const std::string name = util::to_lower(dialect);
  if (name == "openai") return openai_profile();
  if (name == "anthropic") return anthropic_profile();
  if (name == "gemini") return gemini_profile();
  if (name == "generic") return generic_profile();
  if (name == "ollama") {
    ProviderProfile profile =
        local_profile("ollama", "json_schema becomes its grammar-constrained format; drops name and strict");
    profile.grammar_patterns = true;
    return profile;
  }
  if (name == "llama.cpp" || name == "llamacpp") {
    ProviderProfile profile = local_profile(
        "llama.cpp", "json_schema becomes a grammar; some 2025 builds ignored it, so every answer is validated here");
    profile.grammar_patterns = true;
    return profile;
  }
  if (name == "vllm") return local_profile("vllm", "guided decoding of the whole schema; strict is ignored");
  if (name == "lm-studio" || name == "lmstudio") {
    ProviderProfile profile = local_profile("lm-studio", "json_schema only: refuses json_object");
    profile.json_object = false;
    return profile;
  }
  return std::nullopt;
}

std::string url_host(const std::string& url) {
  std::string rest = url;
  if (auto scheme = rest.find("://"); scheme != std::string::npos) rest = rest.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') return util::to_lower(rest.substr(1, rest.find(']') - 1));
  return util::to_lower(rest.substr(0, rest.find(':')));
}

bool is_local_url(const std::string& url) { return is_local_host(url_host(url)); }

bool is_openrouter_url(const std::string& url) {
  const std::string host = url_host(url);
  return host == "openrouter.ai" || host.ends_with(".openrouter.ai");
}

int url_port(const std::string& url) {
  std::string rest = url;
  if (auto scheme = rest.find("://"); scheme != std::string::npos) rest = rest.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  if (auto bracket = rest.find(']'); bracket != std::string::npos) rest = rest.substr(bracket + 1);
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos) return 0;
  int port = 0;
  for (char c : rest.substr(colon + 1)) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return 0;
    port = port * 10 + (c - '0');
    if (port > 65535) return 0;
  }
  return port;
}

ProviderProfile detect_profile(const std::string& base_url, const std::string& model) {
  const std::string host = url_host(base_url);
  auto chosen = [](ProviderProfile profile, std::string why) {
    profile.chosen_by = std::move(why);
    return profile;
  };
  if (host == "api.openai.com") return chosen(openai_profile(), "the base URL api.openai.com");
  if (host == "api.anthropic.com") {
    // Its OpenAI-compatible endpoint ignores response_format (and refuses a
    // non-strict json_schema), so the schema travels in the prompt from the start.
    ProviderProfile profile = anthropic_profile();
    profile.first_rung = StructuredRung::prompt;
    profile.json_object = false;
    profile.note = "Anthropic's OpenAI-compatible endpoint: response_format is ignored, so the schema goes in the "
                   "prompt and every answer is validated here";
    return chosen(profile, "the base URL api.anthropic.com");
  }
  if (host == "generativelanguage.googleapis.com") return chosen(gemini_profile(), "the base URL " + host);
  if (is_openrouter_url(base_url)) {
    const std::string vendor = util::to_lower(model.substr(0, model.find('/')));
    if (vendor == "openai") {
      // OpenRouter caches OpenAI's models automatically and keeps a run on one
      // provider itself; the key is OpenAI's own parameter, not sent through it.
      ProviderProfile profile = openai_profile();
      profile.prompt_cache_key = false;
      return chosen(profile, "the OpenRouter model " + model);
    }
    if (vendor == "anthropic") return chosen(anthropic_profile(), "the OpenRouter model " + model);
    if (vendor == "google") {
      // Gemini caches implicitly; through OpenRouter a cache_control breakpoint makes it explicit.
      ProviderProfile profile = gemini_profile();
      profile.cache_control = true;
      return chosen(profile, "the OpenRouter model " + model);
    }
    return chosen(generic_profile(), "the OpenRouter model " + model + " (no profile of its vendor)");
  }
  if (is_local_host(host)) {
    const int port = url_port(base_url);
    const char* dialect = port == 11434 ? "ollama" : port == 8080 ? "llama.cpp" : port == 8000 ? "vllm"
                        : port == 1234  ? "lm-studio" : nullptr;
    if (dialect) return chosen(*profile_by_dialect(dialect), "a local server on port " + std::to_string(port));
    return chosen(generic_profile(), "a local server on port " + std::to_string(port) + " (no usual port)");
  }
  return chosen(generic_profile(), "the base URL " + host + " (no profile of its own)");
}

std::optional<ProviderProfile> choose_profile(std::string_view dialect, const std::string& base_url,
                                              const std::string& model) {
  if (dialect.empty() || dialect == "auto") return detect_profile(base_url, model);
  auto profile = profile_by_dialect(dialect);
  if (profile) profile->chosen_by = "--schema-dialect " + std::string(dialect);
  return profile;
}

}  // namespace pipeline::llm

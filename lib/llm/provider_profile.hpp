#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pipeline::llm {

// How a request asks for structured output, from the most to the least the
// provider has to support. A provider that refuses one rung is asked on the
// next one (see StructuredLadder).
enum class StructuredRung {
  strict_schema,  // response_format json_schema, strict, with the profile's lowered schema
  schema,         // response_format json_schema, not strict, with only the schema's structure
  json_object,    // response_format json_object, the full schema in the system prompt
  prompt,         // no response_format; the full schema in the system prompt
};

// "strict", "schema", "json_object", "prompt".
std::string_view to_string(StructuredRung rung);
// The rung a name gives; "json_schema" is the older name of "strict". nullopt when unknown.
std::optional<StructuredRung> parse_rung(std::string_view name);
// The rung below `rung`, skipping json_object when the profile has none; nullopt below prompt.
struct ProviderProfile;
std::optional<StructuredRung> next_rung(StructuredRung rung, const ProviderProfile& profile);

// What one kind of provider accepts of structured output.
struct ProviderProfile {
  std::string dialect;  // openai, anthropic, gemini, ollama, llama.cpp, vllm, lm-studio, generic
  std::string chosen_by;  // why this profile, for doctor ("the base URL api.openai.com", "--schema-dialect")
  // Schema keywords the provider refuses in a strict schema: removed from the
  // schema sent and said in the field's description instead.
  std::vector<std::string> refused_keywords;
  // The provider takes no type arrays such as ["string", "null"] (OpenAPI's
  // subset): they are sent as the first type with "nullable": true.
  bool no_type_arrays = false;
  // The provider takes a nullable field only as anyOf [the type, null], not as a type array.
  bool nullable_as_any_of = false;
  // The provider takes no "const": it is sent as an enum of one value.
  bool no_const = false;
  // The provider takes no "additionalProperties".
  bool no_additional_properties = false;
  // The server compiles patterns into a grammar (llama.cpp, Ollama): they are
  // rewritten by grammar_safe_pattern (schema_lowering.hpp) or said in words.
  bool grammar_patterns = false;
  // The provider takes "$ref" to a definition in the root's "$defs" (OpenAI
  // and Anthropic say so). Elsewhere every reference is sent inlined.
  bool refs = false;
  StructuredRung first_rung = StructuredRung::strict_schema;
  bool json_object = true;    // response_format json_object is accepted
  bool stream_usage = true;   // stream_options.include_usage is honoured
  // Prompt caching (docs/providers.md#prompt-caching). The provider caches
  // only up to a content block marked cache_control {"type": "ephemeral"}:
  // a message marked Message::cache_break is sent as such a block.
  bool cache_control = false;
  // The provider takes prompt_cache_key, which routes requests with the same
  // key to the same cache: ChatRequest::cache_key is sent as it.
  bool prompt_cache_key = false;
  std::string note;           // one line on what is known of it

  nlohmann::json to_json() const;
};

// Every dialect name --schema-dialect takes, "auto" first.
const std::vector<std::string>& dialect_names();

// The profile of a dialect by name (llamacpp and lmstudio are accepted for
// llama.cpp and lm-studio); nullopt when unknown.
std::optional<ProviderProfile> profile_by_dialect(std::string_view dialect);

// The profile chosen from the base URL and the model: api.openai.com is
// openai; on OpenRouter the model's vendor prefix decides (openai/...,
// anthropic/..., google/...); a local server by its usual port (Ollama
// 11434, llama.cpp 8080, vLLM 8000, LM Studio 1234); anything else is
// generic, which lowers like OpenAI, the strictest common case.
ProviderProfile detect_profile(const std::string& base_url, const std::string& model);

// `dialect` ("auto" or empty: detect_profile) for this base URL and model.
// nullopt for an unknown dialect name.
std::optional<ProviderProfile> choose_profile(std::string_view dialect, const std::string& base_url,
                                              const std::string& model);

// Whether `url` points at this machine (localhost, 127.x, ::1), where a
// server usually needs no key.
bool is_local_url(const std::string& url);

// Whether the base URL is OpenRouter's, decided by its host, never by a
// substring of the URL.
bool is_openrouter_url(const std::string& url);

// The host of a URL, lowercase, without port or brackets.
std::string url_host(const std::string& url);
// The port of a URL, or 0 when it names none.
int url_port(const std::string& url);

}  // namespace pipeline::llm

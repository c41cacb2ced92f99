#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pipeline::testing {

// Which real provider the fake server plays: what it refuses, with that
// provider's own status and error body, and whether it reports usage.
enum class Dialect {
  any,                   // takes every request (the fake's old behaviour)
  openai,                // OpenAI's strict-schema rules and its "'<keyword>' is not permitted." errors
  anthropic,             // Anthropic behind OpenRouter: no bounds, lengths or patterns, errors wrapped by OpenRouter
  json_object_only,      // an OpenRouter model without json_schema: 404 "No endpoints found ..."
  no_structured_output,  // an OpenRouter model without any response_format
  no_usage,              // takes everything but never reports usage
  // OpenAI's reasoning models (gpt-5, o3, o4-mini): OpenAI's structured-output
  // rules, and refuses max_tokens and any temperature but 1 with OpenAI's own
  // error bodies; reports reasoning tokens.
  openai_reasoning,
  // OpenRouter: lists each model's supported_parameters; with
  // provider.require_parameters, a request carrying a parameter its model
  // lacks is answered 404 "No endpoints found that can handle the requested
  // parameters" (without it, such parameters are dropped); sends
  // ": OPENROUTER PROCESSING" comments while the model thinks, and its
  // reasoning as delta.reasoning unless reasoning.exclude.
  openrouter,
};

// "any", "openai", "anthropic", "json-object-only", "no-structured-output", "no-usage",
// "openai-reasoning", "openrouter".
const std::vector<std::string>& dialect_names();
std::optional<Dialect> parse_dialect(std::string_view name);

// The error answer a provider of `dialect` gives instead of a completion.
struct Refusal {
  int status = 400;
  std::string body;
};

// What `dialect` answers to a chat request `body` it refuses; nullopt when it takes it.
std::optional<Refusal> refusal_for(Dialect dialect, const nlohmann::json& body);

// The first problem OpenAI's strict mode finds in a response_format schema
// named `name`, as its error message says it; empty when it takes the schema.
std::string openai_schema_problem(const nlohmann::json& schema, const std::string& name);

// The first keyword Anthropic's structured output refuses in `schema`, as
// its error message says it; empty when it takes the schema.
std::string anthropic_schema_problem(const nlohmann::json& schema);

// Whether answers in `dialect` carry usage.
bool reports_usage(Dialect dialect);

// What `dialect` answers to a chat request `body` whose parameters it
// refuses, before it looks at structured output; `supported` is the model's
// supported_parameters on OpenRouter (null when the list names none for it).
std::optional<Refusal> parameter_refusal(Dialect dialect, const nlohmann::json& body, const nlohmann::json& supported);

// The supported_parameters OpenRouter lists for a model: its reasoning models
// (openai/gpt-5*, openai/o*, and here any "...reasoner...") take no
// temperature but take reasoning; other models take a temperature and no reasoning.
nlohmann::json openrouter_supported_parameters(const std::string& model);

// Whether `dialect` plays a reasoning model for `body`: it thinks before it
// answers, reports reasoning tokens, and on OpenRouter streams its reasoning.
bool reasons(Dialect dialect, const nlohmann::json& body);

}  // namespace pipeline::testing

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
};

// "any", "openai", "anthropic", "json-object-only", "no-structured-output", "no-usage".
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

}  // namespace pipeline::testing

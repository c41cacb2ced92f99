#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/llm/chat.hpp"
#include "lib/llm/provider_profile.hpp"

namespace pipeline::llm {

// On the json_object and prompt rungs the schema travels inside the system prompt,
// between these two markers, as compact JSON on one line of its own; test
// servers find it there.
inline constexpr const char* k_schema_begin_marker = "<json-schema>";
inline constexpr const char* k_schema_end_marker = "</json-schema>";

// Whether a rung carries the schema in the prompt rather than in response_format.
bool schema_in_prompt(StructuredRung rung);

// The messages to send: the request's own, plus on the json_object and
// prompt rungs (when a schema is set) the full schema and the instruction to
// answer with JSON alone, appended to the system message (or as a new first
// system message).
std::vector<Message> messages_to_send(const ChatRequest& request, StructuredRung rung);

// The schema found between the markers in `text`, if any.
std::optional<nlohmann::json> schema_from_prompt(const std::string& text);

// An answer checked against the request's schema.
struct StructuredCheck {
  nlohmann::json json;      // the parsed document when valid
  // Empty when valid, else "invalid_json", "schema_violation" (a contract
  // rule is broken) or "style_violation" (only phrasing rules are); "check_failed"
  // when ChatRequest::check rejects a schema-valid document.
  std::string error_class;
  std::string problem;      // what is wrong, for the re-ask and the error message
  // With "style_violation": each broken rule, kept as a warning when the re-asks are spent.
  std::vector<std::string> style_problems;
};

// Parses `content` (tolerating prose and code fences around the JSON),
// validates it against `schema`, then runs the request's check and
// style_check on a document whose contract holds.
StructuredCheck check_structured_answer(const std::string& content, const nlohmann::json& schema,
                                        const ChatRequest& request = {});

// The user message that asks again after an invalid answer.
std::string reask_text(const StructuredCheck& check);

}  // namespace pipeline::llm

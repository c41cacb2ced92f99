#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/llm/chat.hpp"
#include "lib/llm/client_config.hpp"

namespace pipeline::llm {

// In StructuredMode::prompt the schema travels inside the system prompt,
// between these two markers, as compact JSON on one line of its own; test
// servers find it there.
inline constexpr const char* k_schema_begin_marker = "<json-schema>";
inline constexpr const char* k_schema_end_marker = "</json-schema>";

// The messages to send: the request's own, plus in prompt mode (when a schema
// is set) the schema and the instruction to answer with JSON alone, appended
// to the system message (or as a new first system message).
std::vector<Message> messages_to_send(const ChatRequest& request, StructuredMode mode);

// The schema found between the markers in `text`, if any.
std::optional<nlohmann::json> schema_from_prompt(const std::string& text);

// An answer checked against the request's schema.
struct StructuredCheck {
  nlohmann::json json;      // the parsed document when valid
  // Empty when valid, else "invalid_json" or "schema_violation"; the client
  // sets "check_failed" when ChatRequest::check rejects a schema-valid document.
  std::string error_class;
  std::string problem;      // what is wrong, for the re-ask and the error message
};

// Parses `content` (tolerating prose and code fences around the JSON) and
// validates it against `schema`.
StructuredCheck check_structured_answer(const std::string& content, const nlohmann::json& schema);

// The user message that asks again after an invalid answer.
std::string reask_text(const StructuredCheck& check);

}  // namespace pipeline::llm

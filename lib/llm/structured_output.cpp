#include "lib/llm/structured_output.hpp"

#include "lib/llm/json_extract.hpp"
#include "lib/llm/json_schema.hpp"

namespace pipeline::llm {
namespace {

constexpr std::size_t k_problems_listed = 8;

std::string schema_instruction(const nlohmann::json& schema) {
  return "Answer with one JSON document and nothing else: no prose, no code fences. "
         "It must be valid against this JSON schema:\n" +
         std::string(k_schema_begin_marker) + "\n" +
         schema.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n" + k_schema_end_marker;
}

}  // namespace

std::vector<Message> messages_to_send(const ChatRequest& request, StructuredMode mode) {
  std::vector<Message> messages = request.messages;
  if (mode != StructuredMode::prompt || !request.schema) return messages;
  const std::string instruction = schema_instruction(*request.schema);
  for (auto& message : messages) {
    if (message.role == "system") {
      message.content += "\n\n" + instruction;
      return messages;
    }
  }
  messages.insert(messages.begin(), Message{"system", instruction});
  return messages;
}

std::optional<nlohmann::json> schema_from_prompt(const std::string& text) {
  const auto begin = text.find(k_schema_begin_marker);
  if (begin == std::string::npos) return std::nullopt;
  const auto start = begin + std::string(k_schema_begin_marker).size();
  const auto end = text.find(k_schema_end_marker, start);
  if (end == std::string::npos) return std::nullopt;
  auto schema = nlohmann::json::parse(text.substr(start, end - start), nullptr, false);
  if (schema.is_discarded() || !schema.is_object()) return std::nullopt;
  return schema;
}

StructuredCheck check_structured_answer(const std::string& content, const nlohmann::json& schema) {
  StructuredCheck check;
  auto json = extract_json(content);
  if (!json) {
    check.error_class = "invalid_json";
    check.problem = "the answer contains no parsable JSON document";
    return check;
  }
  const auto problems = validate_json(schema, *json);
  if (!problems.empty()) {
    check.error_class = "schema_violation";
    check.problem = "the JSON does not match the schema: ";
    for (std::size_t i = 0; i < problems.size() && i < k_problems_listed; ++i)
      check.problem += (i == 0 ? "" : "; ") + problems[i];
    if (problems.size() > k_problems_listed)
      check.problem += "; and " + std::to_string(problems.size() - k_problems_listed) + " more";
    return check;
  }
  check.json = std::move(*json);
  return check;
}

std::string reask_text(const StructuredCheck& check) {
  return "Your previous answer was not usable: " + check.problem +
         ". Reply again with only the corrected JSON document, valid against the schema.";
}

}  // namespace pipeline::llm

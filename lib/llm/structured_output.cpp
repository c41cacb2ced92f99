#include "lib/llm/structured_output.hpp"

#include <algorithm>

#include "lib/llm/json_extract.hpp"
#include "lib/llm/json_schema.hpp"
#include "lib/llm/wire_order.hpp"
#include "lib/util/json_text.hpp"

namespace pipeline::llm {
namespace {

constexpr std::size_t k_problems_listed = 8;

std::string schema_instruction(const nlohmann::json& schema) {
  return "Answer with one JSON document and nothing else: no prose, no code fences. "
         "It must be valid against this JSON schema:\n" +
         std::string(k_schema_begin_marker) + "\n" +
         in_authored_order(schema).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n" + k_schema_end_marker;
}

}  // namespace

bool schema_in_prompt(StructuredRung rung) {
  return rung == StructuredRung::json_object || rung == StructuredRung::prompt;
}

std::vector<Message> messages_to_send(const ChatRequest& request, StructuredRung rung) {
  std::vector<Message> messages = request.messages;
  if (!schema_in_prompt(rung) || !request.schema) return messages;
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
  auto schema = util::parse_json_or_discarded(text.substr(start, end - start));
  if (schema.is_discarded() || !schema.is_object()) return std::nullopt;
  return schema;
}

StructuredCheck check_structured_answer(const std::string& content, const nlohmann::json& schema,
                                        const ChatRequest& request) {
  StructuredCheck check;
  auto json = extract_json(content);
  if (!json) {
    check.error_class = "invalid_json";
    check.problem = "the answer contains no parsable JSON document";
    return check;
  }
  const auto violations = find_violations(schema, *json);
  const bool contract_holds =
      std::none_of(violations.begin(), violations.end(), [](const Violation& violation) { return !violation.style; });
  if (contract_holds && request.check) {
    // The caller's contract rules are re-asked like the schema's.
    if (std::string problem = request.check(*json); !problem.empty()) {
      check.error_class = "check_failed";
      check.problem = std::move(problem);
      return check;
    }
  }
  if (!violations.empty()) {
    check.error_class = contract_holds ? "style_violation" : "schema_violation";
    check.problem = "the JSON does not match the schema: ";
    for (std::size_t i = 0; i < violations.size() && i < k_problems_listed; ++i)
      check.problem += (i == 0 ? "" : "; ") + violations[i].message;
    if (violations.size() > k_problems_listed)
      check.problem += "; and " + std::to_string(violations.size() - k_problems_listed) + " more";
    for (const auto& violation : violations)
      if (violation.style) check.style_problems.push_back(violation.message);
  }
  if (contract_holds && request.style_check) {
    if (std::string problem = request.style_check(*json); !problem.empty()) {
      check.problem = check.error_class.empty() ? problem : check.problem + "; " + problem;
      check.error_class = "style_violation";
      check.style_problems.push_back(std::move(problem));
    }
  }
  check.json = std::move(*json);
  return check;
}

std::string reask_text(const StructuredCheck& check) {
  return "Your previous answer was not usable: " + check.problem +
         ". Reply again with only the corrected JSON document, valid against the schema.";
}

}  // namespace pipeline::llm

#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pipeline::llm {

// Validates `document` against `schema`, in-process, for the subset of JSON
// Schema that structured output uses: type (a name or an array of names,
// "null" included), properties, required, additionalProperties false, enum,
// const, items, minItems, maxItems, minLength, maxLength (in code points),
// minimum, maximum, pattern (ECMAScript, searched anywhere in the string),
// anyOf, and "$ref" to a definition in the root's "$defs" ("#/$defs/<name>",
// as OpenAI and Anthropic take it). Other keywords, description among them, are ignored.
// Returns one message per violation, each naming its JSON path ("$.cards[2].title: ...");
// empty when the document is valid.
std::vector<std::string> validate_json(const nlohmann::json& schema, const nlohmann::json& document);

// One violation, with what kind of rule it broke.
struct Violation {
  std::string message;  // "$.cards[2].title: ..."
  // Style rules are the phrasing of strings: minLength, maxLength and
  // pattern. Everything else (types, required and allowed properties, enum,
  // const, item counts, number ranges, anyOf) is the contract.
  bool style = false;
};

// The violations of `document`, as validate_json finds them, each marked contract or style.
std::vector<Violation> find_violations(const nlohmann::json& schema, const nlohmann::json& document);

// Only the messages of the contract violations.
std::vector<std::string> contract_violations(const nlohmann::json& schema, const nlohmann::json& document);

}  // namespace pipeline::llm

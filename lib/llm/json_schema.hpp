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
// and anyOf. Other keywords, description among them, are ignored.
// Returns one message per violation, each naming its JSON path ("$.cards[2].title: ...");
// empty when the document is valid.
std::vector<std::string> validate_json(const nlohmann::json& schema, const nlohmann::json& document);

}  // namespace pipeline::llm

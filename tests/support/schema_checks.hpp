#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

// Whether a value conforms to a schema is not checked here: tests use
// llm::validate_json, the validator the pipeline itself relies on.
namespace pipeline::testing {

// Ways in which `schema` leaves the keyword subset the stages promise: an
// unknown keyword, an object without additionalProperties false or whose
// required list is not exactly its properties, an array without items, an
// empty enum or anyOf, a pattern std::regex cannot compile, a node without a type, a
// min above its max, a "$ref" with other keywords or to no definition of the
// root's "$defs" ("$defs" only at the root). Each problem names its JSON pointer; none means it fits.
std::vector<std::string> schema_subset_problems(const nlohmann::json& schema);

// Every value of every "enum" keyword in `schema`, in document order, per node.
std::vector<std::vector<std::string>> schema_enums(const nlohmann::json& schema);

}  // namespace pipeline::testing

#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pipeline::testing {

// Ways in which `schema` leaves the keyword subset the stages promise: an
// unknown keyword, an object without additionalProperties false or whose
// required list is not exactly its properties, an array without items, an
// empty enum, a pattern std::regex cannot compile, a node without a type, a
// min above its max. Each problem names its JSON pointer; none means it fits.
std::vector<std::string> schema_subset_problems(const nlohmann::json& schema);

// Ways in which `value` does not conform to `schema` (same subset), each naming
// the JSON pointer of the offending value; none means it conforms. A test
// helper so that hand-written sample outputs are known to be valid answers.
std::vector<std::string> schema_conformance_problems(const nlohmann::json& schema, const nlohmann::json& value);

// Every value of every "enum" keyword in `schema`, in document order, per node.
std::vector<std::vector<std::string>> schema_enums(const nlohmann::json& schema);

}  // namespace pipeline::testing

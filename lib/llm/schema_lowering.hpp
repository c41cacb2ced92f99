#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "lib/llm/provider_profile.hpp"

namespace pipeline::llm {

// A stage's schema is the one full contract: answers are always validated
// against it in-process. What goes on the wire is a lowered copy that the
// provider accepts; every rule taken out is said in the field's description
// instead, after "Rules: ", so the model still sees it.

// `schema` with every "$ref" to the root's "$defs" replaced by a copy of the
// definition (inlined in turn) and "$defs" removed: the form for a provider
// whose profile takes no references. A reference that names no definition,
// or one nested deeper than 32, is left as it is.
nlohmann::json inline_refs(const nlohmann::json& schema);

// The schema of the strict rung: the keywords `profile` refuses removed,
// and its shape rules applied (no type arrays, no const, no additionalProperties,
// references inlined).
nlohmann::json lower_schema(const nlohmann::json& schema, const ProviderProfile& profile);

// The schema of the non-strict rung: only its structure (type, properties,
// required, additionalProperties, enum, const, items, anyOf, $defs, $ref),
// with every other rule in the descriptions, and the profile's shape rules.
nlohmann::json structural_schema(const nlohmann::json& schema, const ProviderProfile& profile);

// `pattern` rewritten for a grammar-based server (llama.cpp's JSON-schema
// converter, which Ollama shares): \S, \s and . become explicit classes that
// admit no raw quote or backslash, since the converter copies \S and \s
// literally (and llama.cpp then refuses the grammar) and a . would admit a
// raw '"' that breaks the JSON. nullopt for a pattern with escapes it cannot
// rewrite (\d, \w, classes holding \s); such a pattern goes into the description.
std::optional<std::string> grammar_safe_pattern(const std::string& pattern);

// The rule a schema keyword states, in words ("at most 80 characters").
std::string describe_rule(const std::string& keyword, const nlohmann::json& value, const nlohmann::json& schema);

}  // namespace pipeline::llm

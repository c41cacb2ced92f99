#pragma once

#include <nlohmann/json.hpp>

namespace pipeline::llm {

// A schema as it goes on the wire. nlohmann::json keeps object members in
// alphabetical order, but structured-output engines (OpenAI strict mode,
// llama.cpp grammars, vLLM guided decoding) make the model write fields in the
// order of `properties`; so every object's properties are laid out in the
// order its "required" array lists them, which is the order the stage authored
// (evidence and reasoning before the conclusions drawn from them). Properties
// that "required" does not list follow in alphabetical order.
nlohmann::ordered_json in_authored_order(const nlohmann::json& schema);

}  // namespace pipeline::llm

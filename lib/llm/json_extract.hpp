#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pipeline::llm {

// The JSON document in a model's answer that may wrap it in prose or code
// fences: the whole text when it parses, else the first ```json (or ```)
// fenced block that parses, else the first balanced {...} or [...] that
// parses. nullopt when there is none.
std::optional<nlohmann::json> extract_json(std::string_view answer);

}  // namespace pipeline::llm

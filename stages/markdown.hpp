#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pipeline::stages::markdown {

// "## text" with a blank line after it; level 1 to 6.
std::string heading(int level, std::string_view text);

// A paragraph followed by a blank line; empty text gives nothing.
std::string paragraph(std::string_view text);

// "**label:** value" as its own paragraph; empty values give nothing.
std::string field(std::string_view label, std::string_view value);

// "- item" lines followed by a blank line; numbered ("1. item") on request.
std::string bullet_list(const std::vector<std::string>& items, bool numbered = false);

// A pipe table; cells are escaped so that '|' and newlines cannot break it.
std::string table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows);

// Every heading one level deeper, for embedding a document in another.
std::string demote_headings(std::string_view markdown);

// The string at `key`, or "" when it is missing or not a string.
std::string text(const nlohmann::json& object, std::string_view key);

// The strings of the array at `key`; non-strings and a missing key give none.
std::vector<std::string> texts(const nlohmann::json& object, std::string_view key);

// The array or object at `key`, or an empty array when it is missing.
const nlohmann::json& child(const nlohmann::json& object, std::string_view key);

// The value at `key` as it is, or null when it is missing or `object` is not an object.
const nlohmann::json& member(const nlohmann::json& object, std::string_view key);

// A number for people: integers without decimals, others with at most `decimals`.
std::string number(const nlohmann::json& value, int decimals = 2);

// An enumeration value for people: "remove_friction" -> "Remove friction".
std::string label(std::string_view enum_value);

}  // namespace pipeline::stages::markdown

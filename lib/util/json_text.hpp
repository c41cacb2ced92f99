#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lib/util/expected.hpp"

namespace pipeline::util {

// The deepest nesting of arrays and objects that parse_json accepts. Our own
// documents nest fewer than ten levels; a limit keeps a hostile document
// (150,000 nested "[") from exhausting the stack when its tree is copied or
// destroyed.
inline constexpr int k_max_json_depth = 256;

// Parses JSON read from anywhere but our own constants (a store, the queue, a
// file, a server). Nesting deeper than k_max_json_depth is refused before
// any tree is built. Errors are bad_input (code "json_too_deep" or
// "json_invalid") with a message that says why and where, for callers to
// prefix with what was read: "nested deeper than 256 levels (at byte 300)",
// "parse error at line 1, column 3: syntax error ... (at byte 3 of 9)".
// `error_byte`, when
// given, receives the offset of the failure.
Expected<nlohmann::json> parse_json(std::string_view text,
                                    const nlohmann::json::parser_callback_t& callback = nullptr,
                                    std::size_t* error_byte = nullptr);

// parse_json for callers that only need to know whether the text was JSON:
// a discarded value on any error.
nlohmann::json parse_json_or_discarded(std::string_view text);

// JSON text of `value` for people and programs: invalid UTF-8 in a string is
// replaced by U+FFFD instead of throwing. `replaced`, when given, is set to
// whether anything was.
std::string dump_json(const nlohmann::json& value, int indent = -1, bool* replaced = nullptr);

}  // namespace pipeline::util

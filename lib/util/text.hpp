#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pipeline::util {

// `text` in ASCII lower case; other bytes (UTF-8 sequences among them) unchanged.
std::string to_lower(std::string_view text);

// Whether `text` is empty or holds only spaces, tabs and line breaks.
bool is_blank(std::string_view text);

// Whether any of `needles` occurs anywhere in `text` (plain substring search).
bool contains_any(std::string_view text, const std::vector<std::string>& needles);

// Whether `text` begins with `prefix`, ignoring ASCII case.
bool starts_with_ignoring_case(std::string_view text, std::string_view prefix);

// `text` with its control characters (bytes below 0x20, and DEL) written as
// escapes ("\n", "\r", "\t", "\x1b"), so that data printed in a message
// keeps it on one line and cannot steer a terminal; with `keep_lines`, line
// breaks and tabs stay as they are.
std::string escape_control(std::string_view text, bool keep_lines = false);

// A size for a message, in MB of 1024 * 1024 bytes with up to four
// significant digits: "20 MB", "0.5 MB", "1.25 MB".
std::string megabytes_text(std::uint64_t bytes);

}  // namespace pipeline::util

#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "lib/util/expected.hpp"

namespace pipeline::brand {

// The largest research notes accepted, inline or from a file: they go into
// every brand-aware prompt, so anything longer is almost surely a mistake.
inline constexpr std::size_t k_max_research_bytes = 256 * 1024;

// Reads the Markdown named by a profile's `research_file`. `reference` must be
// relative to `profile_dir`, without `..` parts, and must resolve (symlinks
// included) to a readable, non-empty UTF-8 file inside `profile_dir`. Errors
// are bad_input and describe the problem without the profile's file name.
util::Expected<std::string> read_research_file(const std::filesystem::path& profile_dir, std::string_view reference);

// True when `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text);

}  // namespace pipeline::brand

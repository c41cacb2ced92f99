#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "lib/util/expected.hpp"

namespace pipeline::util {

// The whole file as bytes; a missing or unreadable file is bad_input.
Expected<std::string> read_file(const std::filesystem::path& path);

// Replaces `path` with `content` so that a kill at any instant leaves either
// the old or the new file, never a torn one: a temporary file in the same
// directory, fsync, rename over the old one, fsync of the directory.
Expected<void> write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Appends one line (a newline is added) and flushes it to the disk, so that a
// log written this way survives a kill up to its last complete line.
Expected<void> append_line_durable(const std::filesystem::path& path, std::string_view line);

}  // namespace pipeline::util

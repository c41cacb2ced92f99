#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "lib/util/expected.hpp"

namespace pipeline::util {

// The whole file as bytes; a missing or unreadable file is bad_input.
Expected<std::string> read_file(const std::filesystem::path& path);

// When a write reaches the disk itself. Every write survives a killed
// process either way (the kernel keeps it); only a power loss or an OS crash
// needs the disk.
enum class Sync {
  now,    // flushed before the call returns
  later,  // flushed by a later sync_filesystem() (or by the kernel in its own time)
};

// Replaces `path` with `content` so that a kill at any instant leaves either
// the old or the new file, never a torn one: a temporary file in the same
// directory, renamed over the old one; with Sync::now the file is fsynced
// before the rename and the directory after it.
Expected<void> write_file_atomic(const std::filesystem::path& path, std::string_view content, Sync sync = Sync::now);

// Appends one line (a newline is added) in one write, so that a log written
// this way survives a kill up to its last complete line; Sync::now also
// flushes it to the disk.
Expected<void> append_line(const std::filesystem::path& path, std::string_view line, Sync sync = Sync::now);

// Flushes every file written on the file system that holds `path` to the
// disk (syncfs): one call makes many Sync::later writes durable.
Expected<void> sync_filesystem(const std::filesystem::path& path);

}  // namespace pipeline::util

#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "lib/util/expected.hpp"

namespace pipeline::util {

// The most read_file reads unless told otherwise: 1 GiB.
inline constexpr std::uint64_t k_max_read_bytes = std::uint64_t{1} << 30;

// How read_file treats what it is given.
struct ReadLimits {
  // A larger file is refused before it is read (and one that grows past the
  // cap while read is refused too).
  std::uint64_t max_bytes = k_max_read_bytes;
  // False: a symbolic link as the file itself is refused (O_NOFOLLOW).
  bool follow_symlinks = true;
};

// The whole file as bytes. Only a regular file is read: a FIFO, a device
// (/dev/zero), a socket or a directory is refused at once, never waited on.
// Every failure (missing, unreadable, not a regular file, over the cap) is
// bad_input with one line that names the path.
Expected<std::string> read_file(const std::filesystem::path& path, const ReadLimits& limits = {});

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
// flushes it to the disk. A symbolic link at `path` is refused, never
// followed.
Expected<void> append_line(const std::filesystem::path& path, std::string_view line, Sync sync = Sync::now);

// Flushes every file written on the file system that holds `path` to the
// disk (syncfs): one call makes many Sync::later writes durable.
Expected<void> sync_filesystem(const std::filesystem::path& path);

}  // namespace pipeline::util

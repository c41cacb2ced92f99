#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "lib/util/expected.hpp"

namespace pipeline::util {

// Lowercase hex SHA-256 of a byte string.
std::string sha256_hex(std::string_view data);

// Lowercase hex SHA-256 of a file's contents, read in blocks.
Expected<std::string> sha256_file(const std::filesystem::path& path);

}  // namespace pipeline::util

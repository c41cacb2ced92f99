#pragma once

#include <string_view>

namespace pipeline::util {

// Turns detail lines on stderr on or off (the CLI's --verbose).
void set_verbose(bool verbose);
bool verbose();

// Writes "pipeline: <message>" to stderr when verbose; thread-safe.
void log_verbose(std::string_view message);

}  // namespace pipeline::util

#pragma once

#include <filesystem>
#include <vector>

namespace pipeline::util {

// Folders that may hold the tool's shipped data (example brands), best
// first: share/pipeline beside the running binary's prefix, the install
// prefix it was built for, and the source tree for an uninstalled build.
std::vector<std::filesystem::path> shipped_data_dirs();

}  // namespace pipeline::util

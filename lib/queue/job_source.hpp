#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "lib/util/expected.hpp"

namespace pipeline::queue {

// Where a worker may read the documents of source jobs from: http(s) URLs
// always (through the download's URL guard), local files only under
// `local_root` (a worker's --allow-local-sources), which is a real path.
struct SourcePolicy {
  std::optional<std::filesystem::path> local_root;
};

// The policy for --allow-local-sources DIR: DIR resolved with realpath;
// bad_input when it is not a folder.
util::Expected<SourcePolicy> local_sources_under(const std::string& dir);

// What a source job may ingest for `source`: an http(s) URL as it is; a
// local path (relative ones taken inside the root) resolved with realpath,
// when the policy has a root, the path lies inside it once resolved (no
// traversal or symlink out) and it is a regular file (never a FIFO, a device
// or a folder, which could block or never end). bad_input naming the source
// otherwise (any other scheme://, a local path without a root).
util::Expected<std::string> admit_source(std::string_view source, const SourcePolicy& policy);

}  // namespace pipeline::queue

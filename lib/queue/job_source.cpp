#include "lib/queue/job_source.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "lib/queue/job_admission.hpp"
#include "lib/util/error.hpp"
#include "lib/util/text.hpp"

namespace pipeline::queue {
namespace {

namespace fs = std::filesystem;

util::Error source_error(std::string_view source, const std::string& why) {
  return {util::ErrorKind::bad_input, fmt::format("source \"{}\" refused: {}", entry_text(source), why), "bad_source"};
}

// The real path of `path`, or the reason it has none.
util::Expected<fs::path> resolved_real_path(const fs::path& path) {
  char resolved[PATH_MAX];
  if (!::realpath(path.c_str(), resolved)) return util::fail(util::ErrorKind::bad_input, std::strerror(errno));
  return fs::path(resolved);
}

bool lies_inside_root(const fs::path& path, const fs::path& root) {
  const auto [end, _] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return end == root.end();
}

}  // namespace

util::Expected<SourcePolicy> local_sources_under(const std::string& dir) {
  auto root = resolved_real_path(dir);
  struct stat info {};
  if (!root || ::stat(root->c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return util::fail(util::ErrorKind::bad_input,
                      fmt::format("--allow-local-sources {}: not a folder{}", entry_text(dir, 200),
                                  root ? std::string() : " (" + root.error().message + ")"));
  }
  return SourcePolicy{*root};
}

util::Expected<std::string> admit_source(std::string_view source, const SourcePolicy& policy) {
  if (util::starts_with_ignoring_case(source, "http://") || util::starts_with_ignoring_case(source, "https://")) {
    for (const char c : source) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte <= 0x20 || byte >= 0x7f) return source_error(source, "a URL is printable ASCII (percent-encode the rest)");
    }
    return std::string(source);
  }
  if (source.find("://") != std::string_view::npos) return source_error(source, "only http:// and https:// URLs are read");
  if (!policy.local_root) {
    return source_error(source, "a queue's sources are http(s) URLs; local files only under a worker's "
                                "--allow-local-sources DIR");
  }
  if (source.empty() || source.find('\0') != std::string_view::npos) return source_error(source, "not a path");
  const fs::path path = fs::path(source).is_absolute() ? fs::path(source) : *policy.local_root / fs::path(source);
  auto resolved = resolved_real_path(path);
  if (!resolved) return source_error(source, resolved.error().message);
  if (!lies_inside_root(*resolved, *policy.local_root)) {
    return source_error(source, fmt::format("it lies outside {} (--allow-local-sources)", policy.local_root->string()));
  }
  struct stat info {};
  if (::stat(resolved->c_str(), &info) != 0) return source_error(source, std::strerror(errno));
  if (!S_ISREG(info.st_mode)) return source_error(source, "not a regular file");
  return resolved->string();
}

}  // namespace pipeline::queue

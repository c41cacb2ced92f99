#include "lib/util/program_name.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace pipeline::util {
namespace {

std::string& stored_name() {
  static std::string name = "pipeline";
  return name;
}

// Whether `dir` is one of the PATH entries, compared as canonical paths.
bool on_path(const std::filesystem::path& dir) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::error_code error;
  const auto wanted = std::filesystem::weakly_canonical(dir, error);
  if (error) return false;
  std::string_view rest(path);
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    const std::string entry(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    if (entry.empty()) continue;
    if (std::filesystem::weakly_canonical(entry, error) == wanted && !error) return true;
  }
  return false;
}

}  // namespace

void set_program_name(std::string_view argv0) {
  const std::filesystem::path invoked(argv0);
  // A bare name was found on PATH; so was a path into a PATH folder, as long as it is still called pipeline.
  if (argv0.find('/') == std::string_view::npos ||
      (invoked.filename() == "pipeline" && on_path(invoked.parent_path()))) {
    stored_name() = invoked.filename().string();
    return;
  }
  stored_name() = std::string(argv0);
}

const std::string& program_name() { return stored_name(); }

std::string name_commands(std::string text) {
  if (program_name() == "pipeline") return text;
  const std::string quoted = "`pipeline ";
  const std::string named = "`" + program_name() + " ";
  for (auto at = text.find(quoted); at != std::string::npos; at = text.find(quoted, at + named.size()))
    text.replace(at, quoted.size(), named);
  return text;
}

}  // namespace pipeline::util

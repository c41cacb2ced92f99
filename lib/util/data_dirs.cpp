#include "lib/util/data_dirs.hpp"

#include <system_error>

namespace pipeline::util {

std::vector<std::filesystem::path> shipped_data_dirs() {
  std::vector<std::filesystem::path> dirs;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(exe.parent_path().parent_path() / "share" / "pipeline");
  dirs.emplace_back(PIPELINE_DATA_DIR);
  dirs.push_back(std::filesystem::path(PIPELINE_SOURCE_DIR) / "examples");
  return dirs;
}

}  // namespace pipeline::util

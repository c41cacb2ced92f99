#include <doctest/doctest.h>

#include <unistd.h>

#include <climits>
#include <filesystem>
#include <string>

#include "lib/util/data_dirs.hpp"

namespace fs = std::filesystem;
using pipeline::util::shipped_data_dirs;

namespace pipeline::testing {
namespace {

// The running executable, asked of the kernel with readlink(2).
fs::path running_binary() {
  char buffer[PATH_MAX];
  const ssize_t size = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  REQUIRE(size > 0);
  return fs::path(std::string(buffer, static_cast<std::size_t>(size)));
}

bool same_place(const fs::path& a, const fs::path& b) {
  return fs::weakly_canonical(a) == fs::weakly_canonical(b);
}

}  // namespace
}  // namespace pipeline::testing

TEST_CASE("shipped_data_dirs starts with share/pipeline beside the running binary's prefix") {
  const auto binary = pipeline::testing::running_binary();
  // This is the unit test binary in <build>/tests, so the prefix is <build>.
  REQUIRE(binary.filename() == "unit_tests");
  REQUIRE(binary.parent_path().filename() == "tests");

  const auto dirs = shipped_data_dirs();
  REQUIRE_FALSE(dirs.empty());
  CHECK(pipeline::testing::same_place(dirs.front(), binary.parent_path() / ".." / "share" / "pipeline"));
  CHECK(dirs.front().is_absolute());
}

TEST_CASE("shipped_data_dirs includes the source tree's examples folder, which holds the brands") {
  const auto examples = fs::path(PIPELINE_TEST_SOURCE_DIR) / ".." / "examples";
  REQUIRE(fs::is_directory(examples / "brands"));
  const auto dirs = shipped_data_dirs();
  bool found = false;
  for (const auto& dir : dirs) found = found || pipeline::testing::same_place(dir, examples);
  CHECK(found);
  // The beside-the-binary folder is tried first, the source tree last.
  CHECK(pipeline::testing::same_place(dirs.back(), examples));
}

TEST_CASE("shipped_data_dirs gives the same folders on every call") {
  const auto dirs = shipped_data_dirs();
  CHECK(dirs.size() >= 2);
  CHECK(shipped_data_dirs() == dirs);
}

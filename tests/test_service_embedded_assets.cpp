#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "service/embedded_assets.hpp"

using pipeline::service::embedded_assets;
using pipeline::service::find_asset;

TEST_CASE("every file of service/assets is compiled in, byte for byte, and found by name") {
  const std::filesystem::path folder = std::filesystem::path(PIPELINE_SOURCE_DIR) / "service/assets";
  std::size_t on_disk = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    ++on_disk;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    const auto found = find_asset(entry.path().filename().string());
    CAPTURE(entry.path().string());
    REQUIRE(found.has_value());
    CHECK(*found == content.str());
  }
  CHECK(embedded_assets().size() == on_disk);
  CHECK(find_asset("index.html").has_value());
  CHECK(find_asset("openapi.json").has_value());
  CHECK_FALSE(find_asset("missing.js").has_value());
  CHECK_FALSE(find_asset("../CMakeLists.txt").has_value());
}

#include <doctest/doctest.h>

#include <set>

#include "lib/util/random_hex.hpp"

TEST_CASE("random_hex gives two lowercase hex digits per byte, never the same twice") {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string hex = pipeline::util::random_hex(8);
    CHECK(hex.size() == 16);
    CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
    seen.insert(hex);
  }
  CHECK(seen.size() == 200);
  CHECK(pipeline::util::random_hex(0).empty());
}

#include <doctest/doctest.h>

#include <string>

#include "lib/util/identifier.hpp"

using pipeline::util::is_valid_identifier;
using pipeline::util::k_max_identifier_length;

TEST_CASE("is_valid_identifier takes lowercase letters, digits, '.', '_' and '-', and nothing that could escape") {
  for (const char* good : {"r1", "web-1", "a.b_c-d", "0abc", "entry-normal-1700000000000-0"}) {
    CAPTURE(good);
    CHECK(is_valid_identifier(good));
  }
  for (const char* bad : {"", "..", "a..b", "../etc", "a/b", "a:b", "-a", ".a", "_a", "A1", "r 1", "r\n1", "r\x1b", "\xc3\xa9t\xc3\xa9"}) {
    CAPTURE(bad);
    CHECK_FALSE(is_valid_identifier(bad));
  }
  CHECK_FALSE(is_valid_identifier(std::string("r\0", 2)));
  CHECK(is_valid_identifier(std::string(k_max_identifier_length, 'a')));
  CHECK_FALSE(is_valid_identifier(std::string(k_max_identifier_length + 1, 'a')));
}

#include <doctest/doctest.h>

#include <string>

#include "lib/util/hex.hpp"

using pipeline::util::to_hex;

TEST_CASE("to_hex writes two lowercase digits per byte, every byte value included") {
  CHECK(to_hex("") == "");
  CHECK(to_hex("abc") == "616263");
  CHECK(to_hex(std::string("\x00\x0f\xf0\xff", 4)) == "000ff0ff");
  std::string all;
  for (int byte = 0; byte < 256; ++byte) all.push_back(static_cast<char>(byte));
  const std::string hex = to_hex(all);
  REQUIRE(hex.size() == 512);
  for (int byte = 0; byte < 256; ++byte) {
    CHECK(std::stoi(hex.substr(static_cast<std::size_t>(byte) * 2, 2), nullptr, 16) == byte);
  }
  CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
}

TEST_CASE("from_hex reads back what to_hex wrote and refuses anything else") {
  using pipeline::util::from_hex;
  std::string all;
  for (int byte = 0; byte < 256; ++byte) all.push_back(static_cast<char>(byte));
  CHECK(from_hex(to_hex(all)) == all);
  CHECK(from_hex("") == std::string());
  CHECK(from_hex("6A6b") == std::string("jk"));
  CHECK_FALSE(from_hex("616").has_value());
  CHECK_FALSE(from_hex("6g").has_value());
  CHECK_FALSE(from_hex("61 2").has_value());
}

#include <doctest/doctest.h>

#include <random>
#include <string>

#include "lib/util/json_text.hpp"

using pipeline::util::dump_json;
using pipeline::util::ErrorKind;
using pipeline::util::k_max_json_depth;
using pipeline::util::parse_json;
using pipeline::util::parse_json_or_discarded;

namespace {

std::string nested_arrays(int depth) { return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']'); }

}  // namespace

TEST_CASE("parse_json reads JSON nested up to the limit and refuses deeper before building a tree") {
  auto deepest = parse_json(nested_arrays(k_max_json_depth));
  REQUIRE_MESSAGE(deepest.has_value(), deepest.error().message);
  CHECK(deepest->is_array());

  auto too_deep = parse_json(nested_arrays(k_max_json_depth + 1));
  REQUIRE_FALSE(too_deep);
  CHECK(too_deep.error().kind == ErrorKind::bad_input);
  CHECK(too_deep.error().code == "json_too_deep");
  CHECK(too_deep.error().message == "nested deeper than 256 levels (at byte 257 of 514)");

  // 150,000 levels crashed nlohmann's recursive copy; now a clean error, at once.
  std::string hostile_text(150000, '[');
  hostile_text += '0';
  hostile_text.append(150000, ']');
  auto hostile = parse_json(hostile_text);
  REQUIRE_FALSE(hostile);
  CHECK(hostile.error().code == "json_too_deep");
  auto objects = parse_json(std::string(150000, '{'));
  REQUIRE_FALSE(objects);
  CHECK(objects.error().code == "json_too_deep");
  CHECK(parse_json_or_discarded(std::string(150000, '[')).is_discarded());
}

TEST_CASE("brackets inside strings do not count as nesting") {
  const std::string text = "{\"a\": \"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"}";
  auto parsed = parse_json(text);
  REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message);
  CHECK(parsed->at("a").get<std::string>().size() == 2001);
}

TEST_CASE("invalid JSON is one line of bad input with where it broke") {
  std::size_t at = 0;
  auto broken = parse_json("{\"a\": tru}", nullptr, &at);
  REQUIRE_FALSE(broken);
  CHECK(broken.error().kind == ErrorKind::bad_input);
  CHECK(broken.error().code == "json_invalid");
  CHECK(broken.error().message.rfind("parse error at line 1, column ", 0) == 0);
  CHECK(broken.error().message.find('\n') == std::string::npos);
  CHECK(at > 0);
  CHECK(parse_json_or_discarded("").is_discarded());
  CHECK(parse_json_or_discarded("{} trailing").is_discarded());
}

TEST_CASE("a parser callback sees every event, as nlohmann's own parse gives it") {
  int keys = 0;
  auto parsed = parse_json("{\"a\": 1, \"b\": [2]}", [&](int, nlohmann::json::parse_event_t event, nlohmann::json&) {
    keys += event == nlohmann::json::parse_event_t::key;
    return true;
  });
  REQUIRE(parsed.has_value());
  CHECK(keys == 2);
}

TEST_CASE("random bytes and random bracket soups never crash the parser") {
  std::mt19937 generator(19);
  const std::string alphabet = "[]{}\",:0123456789 \\truefalsn\x01\xff";
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const std::size_t size = generator() % 4000;
    for (std::size_t i = 0; i < size; ++i) text.push_back(alphabet[generator() % alphabet.size()]);
    auto parsed = parse_json(text);
    if (!parsed) {
      CHECK(parsed.error().kind == ErrorKind::bad_input);
      CHECK(parsed.error().message.find('\n') == std::string::npos);
    }
  }
}

TEST_CASE("dump_json replaces invalid UTF-8 instead of throwing, and says so") {
  const nlohmann::json value{{"title", std::string("caf\xe9 \xff")}, {"ok", "plain"}};
  bool replaced = false;
  const std::string text = dump_json(value, -1, &replaced);
  CHECK(replaced);
  CHECK(text == "{\"ok\":\"plain\",\"title\":\"caf\xef\xbf\xbd \xef\xbf\xbd\"}");
  CHECK(parse_json(text).has_value());

  CHECK(dump_json(nlohmann::json{{"a", "\xc3\xa9"}}, 2, &replaced) == "{\n  \"a\": \"\xc3\xa9\"\n}");
  CHECK_FALSE(replaced);
  // Control characters are escaped by JSON itself.
  CHECK(dump_json(nlohmann::json("a\x1b[31m\n")) == "\"a\\u001b[31m\\n\"");
}

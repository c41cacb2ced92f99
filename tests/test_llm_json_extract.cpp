#include <doctest/doctest.h>

#include "lib/llm/json_extract.hpp"

using pipeline::llm::extract_json;

TEST_CASE("a bare JSON answer is taken whole") {
  auto json = extract_json("  {\"a\": [1, 2]}\n");
  REQUIRE(json);
  CHECK((*json)["a"][1] == 2);
}

TEST_CASE("a fenced block is found among prose") {
  auto json = extract_json("Sure! Here it is:\n```json\n{\"title\": \"Refill {club}\"}\n```\nHope it helps.");
  REQUIRE(json);
  CHECK((*json)["title"] == "Refill {club}");
}

TEST_CASE("a fence with nothing parsable is skipped for a later one") {
  auto json = extract_json("```\nnot json\n```\nthen\n```json\n{\"ok\": true}\n```");
  REQUIRE(json);
  CHECK((*json)["ok"] == true);
}

TEST_CASE("an object inside prose is found by balancing braces, strings respected") {
  auto json = extract_json("The answer is {\"text\": \"a } inside \\\" quotes\", \"n\": {\"m\": 1}} as asked.");
  REQUIRE(json);
  CHECK((*json)["n"]["m"] == 1);
  CHECK((*json)["text"] == "a } inside \" quotes");
}

TEST_CASE("a top-level array is accepted") {
  auto json = extract_json("[1, 2, 3]");
  REQUIRE(json);
  CHECK(json->size() == 3);
}

TEST_CASE("text without a JSON document gives nothing") {
  CHECK_FALSE(extract_json("no json here"));
  CHECK_FALSE(extract_json("{\"unterminated\": "));
  CHECK_FALSE(extract_json("42"));
  CHECK_FALSE(extract_json(""));
}

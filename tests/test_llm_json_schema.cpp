#include <doctest/doctest.h>

#include "lib/llm/json_schema.hpp"

using nlohmann::json;
using pipeline::llm::validate_json;

namespace {

bool mentions(const std::vector<std::string>& errors, const std::string& text) {
  for (const auto& error : errors)
    if (error.find(text) != std::string::npos) return true;
  return false;
}

const json k_card_schema = json::parse(R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["title", "pattern", "steps", "price"],
  "properties": {
    "title": {"type": "string", "minLength": 3, "maxLength": 20, "description": "ignored"},
    "pattern": {"enum": ["convenience", "premiumisation"]},
    "kind": {"const": "card"},
    "steps": {"type": "array", "minItems": 3, "maxItems": 3, "items": {"type": "string", "pattern": "^[A-Z]"}},
    "price": {"type": "number", "minimum": 0.5, "maximum": 10},
    "units": {"type": "integer"},
    "note": {"type": ["string", "null"]}
  }
})");

}  // namespace

TEST_CASE("a document that satisfies every keyword is valid") {
  const json card = {{"title", "Refill club"}, {"pattern", "convenience"}, {"kind", "card"},
                     {"steps", {"Ask", "Build", "Test"}}, {"price", 3.5}, {"units", 12}, {"note", nullptr}};
  CHECK(validate_json(k_card_schema, card).empty());
}

TEST_CASE("each violated keyword is reported with its JSON path") {
  const json card = {{"title", "Ab"}, {"pattern", "cheap"}, {"kind", "other"}, {"steps", {"ask", 2}},
                     {"price", 11}, {"units", 1.5}, {"note", 3}, {"extra", true}};
  const auto errors = validate_json(k_card_schema, card);
  CHECK(mentions(errors, "$.title: is 2 characters long, shorter than minLength 3"));
  CHECK(mentions(errors, "$.pattern: \"cheap\" is not one of"));
  CHECK(mentions(errors, "$.kind: must be \"card\""));
  CHECK(mentions(errors, "$.steps: has 2 items, fewer than minItems 3"));
  CHECK(mentions(errors, "$.steps[0]: \"ask\" does not match the pattern"));
  CHECK(mentions(errors, "$.steps[1]: expected string"));
  CHECK(mentions(errors, "$.price: 11 is more than the maximum 10"));
  CHECK(mentions(errors, "$.units: expected integer"));
  CHECK(mentions(errors, "$.note: expected one of [\"string\",\"null\"]"));
  CHECK(mentions(errors, "$: property \"extra\" is not allowed"));
  CHECK(errors.size() == 10);
}

TEST_CASE("missing required properties, maxItems, maxLength and minimum are reported") {
  const json card = {{"title", std::string(21, 'x')}, {"steps", {"A", "B", "C", "D"}}, {"price", 0.1}};
  const auto errors = validate_json(k_card_schema, card);
  CHECK(mentions(errors, "$: missing required property \"pattern\""));
  CHECK(mentions(errors, "$.title: is 21 characters long, longer than maxLength 20"));
  CHECK(mentions(errors, "$.steps: has 4 items, more than maxItems 3"));
  CHECK(mentions(errors, "$.price: 0.1 is less than the minimum 0.5"));
}

TEST_CASE("types are told apart: integers, numbers, null, booleans, objects") {
  CHECK(validate_json({{"type", "integer"}}, 3.0).empty());
  CHECK_FALSE(validate_json({{"type", "integer"}}, "3").empty());
  CHECK(validate_json({{"type", "number"}}, 3).empty());
  CHECK(validate_json({{"type", "null"}}, nullptr).empty());
  CHECK_FALSE(validate_json({{"type", "boolean"}}, 0).empty());
  CHECK_FALSE(validate_json({{"type", "object"}}, json::array()).empty());
}

TEST_CASE("string lengths count characters, not bytes") {
  CHECK(validate_json({{"type", "string"}, {"maxLength", 4}}, "café").empty());
}

TEST_CASE("nested paths name array indexes and members") {
  const json schema = json::parse(
      R"({"type":"object","properties":{"cards":{"type":"array","items":{"type":"object","required":["title"]}}}})");
  const auto errors = validate_json(schema, json::parse(R"({"cards":[{"title":"a"},{},{"title":"c"}]})"));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "$.cards[1]: missing required property \"title\"");
}

TEST_CASE("anyOf accepts a value that matches one alternative") {
  const json schema = json::parse(R"({"anyOf":[{"type":"string"},{"type":"integer","minimum":0}]})");
  CHECK(validate_json(schema, "x").empty());
  CHECK(validate_json(schema, 4).empty());
  CHECK_FALSE(validate_json(schema, -1).empty());
}

TEST_CASE("a broken pattern in the schema is reported, not thrown") {
  const auto errors = validate_json({{"type", "string"}, {"pattern", "(["}}, "x");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("not a valid regular expression") != std::string::npos);
}

TEST_CASE("a huge string is refused by length, never handed to the regex engine") {
  const nlohmann::json bounded = {{"type", "string"}, {"maxLength", 60}, {"pattern", "^\\S+(\\s+\\S+){0,7}$"}};
  const nlohmann::json unbounded = {{"type", "string"}, {"pattern", "^\\S+(\\s+\\S+){0,7}$"}};
  const std::string huge(100'000, 'a');
  for (const auto& schema : {bounded, unbounded}) {
    const auto problems = pipeline::llm::validate_json(schema, huge);
    REQUIRE_FALSE(problems.empty());
  }
}

namespace {

// Whether the violation whose message starts with `start` is marked style; fails when there is none.
bool style_of(const std::vector<pipeline::llm::Violation>& violations, const std::string& start) {
  for (const auto& violation : violations)
    if (violation.message.rfind(start, 0) == 0) return violation.style;
  FAIL("no violation starts with " << start);
  return false;
}

}  // namespace

TEST_CASE("string lengths and patterns are style; types, enums, required, counts and bounds are the contract") {
  const json card = {{"title", "Ab"}, {"kind", "other"}, {"steps", {"ask"}}, {"price", 0.1}, {"note", 3},
                     {"units", "many"}, {"extra", true}};
  const auto violations = pipeline::llm::find_violations(k_card_schema, card);
  CHECK(violations.size() == 9);
  CHECK(style_of(violations, "$.title: is 2 characters long, shorter than minLength 3"));
  CHECK(style_of(violations, "$.steps[0]: \"ask\" does not match the pattern"));
  CHECK_FALSE(style_of(violations, "$: missing required property \"pattern\""));
  CHECK_FALSE(style_of(violations, "$: property \"extra\" is not allowed"));
  CHECK_FALSE(style_of(violations, "$.kind: must be \"card\""));
  CHECK_FALSE(style_of(violations, "$.steps: has 1 items, fewer than minItems 3"));
  CHECK_FALSE(style_of(violations, "$.price: 0.1 is less than the minimum 0.5"));
  CHECK_FALSE(style_of(violations, "$.note: expected one of"));
  CHECK_FALSE(style_of(violations, "$.units: expected integer"));
  const auto too_long = pipeline::llm::find_violations(k_card_schema, json{{"title", std::string(21, 'x')},
                                                                           {"pattern", "cheap"},
                                                                           {"steps", {"A", "B", "C"}},
                                                                           {"price", 1}});
  REQUIRE(too_long.size() == 2);
  CHECK(style_of(too_long, "$.title: is 21 characters long, longer than maxLength 20"));
  CHECK_FALSE(style_of(too_long, "$.pattern: \"cheap\" is not one of"));
}

TEST_CASE("a string too long for the pattern check is style, a broken pattern in the schema is not") {
  const json schema = {{"type", "string"}, {"pattern", "^a+$"}};
  const auto huge = pipeline::llm::find_violations(schema, std::string(100'000, 'a'));
  REQUIRE(huge.size() == 1);
  CHECK(huge[0].style);
  const auto broken = pipeline::llm::find_violations({{"type", "string"}, {"pattern", "(["}}, "x");
  REQUIRE(broken.size() == 1);
  CHECK_FALSE(broken[0].style);
}

TEST_CASE("contract_violations lists only the contract's messages, in order, and validate_json all of them") {
  const json card = {{"title", "Ab"}, {"pattern", "cheap"}, {"steps", {"A", "b", "C"}}, {"price", 1}};
  CHECK(pipeline::llm::contract_violations(k_card_schema, card) ==
        std::vector<std::string>{"$.pattern: \"cheap\" is not one of [\"convenience\",\"premiumisation\"]"});
  CHECK(validate_json(k_card_schema, card).size() == 3);
  json styled = card;
  styled["pattern"] = "convenience";
  CHECK(pipeline::llm::contract_violations(k_card_schema, styled).empty());
  CHECK(validate_json(k_card_schema, styled).size() == 2);
}

TEST_CASE("a $ref to the root's $defs is checked as the definition it names, at every place it is used") {
  const json schema = json::parse(R"({
    "type": "object", "additionalProperties": false, "required": ["a", "b", "maybe"],
    "$defs": {"code": {"type": "string", "pattern": "^[A-Z]{2}$", "maxLength": 2},
              "pair": {"type": "object", "additionalProperties": false, "required": ["left"],
                       "properties": {"left": {"$ref": "#/$defs/code"}}}},
    "properties": {"a": {"$ref": "#/$defs/pair"}, "b": {"$ref": "#/$defs/pair"},
                   "maybe": {"anyOf": [{"$ref": "#/$defs/pair"}, {"type": "null"}]}}
  })");
  CHECK(validate_json(schema, json{{"a", {{"left", "AB"}}}, {"b", {{"left", "CD"}}}, {"maybe", nullptr}}).empty());
  CHECK(validate_json(schema, json{{"a", {{"left", "AB"}}}, {"b", {{"left", "CD"}}}, {"maybe", {{"left", "EF"}}}}).empty());
  const auto errors = validate_json(schema, json{{"a", {{"left", "AB"}}}, {"b", {{"left", 3}}}, {"maybe", {{"right", 1}}}});
  CHECK(mentions(errors, "$.b.left: expected string, got 3"));
  CHECK(mentions(errors, "$.maybe: matches none of the anyOf alternatives"));
  CHECK(errors.size() == 2);
  const auto styled = pipeline::llm::find_violations(schema, json{{"a", {{"left", "abc"}}}, {"b", {{"left", "CD"}}}, {"maybe", nullptr}});
  // Too long for the definition's maxLength: a style rule, found through the reference.
  REQUIRE(styled.size() == 1);
  CHECK(styled[0].style);
  CHECK(styled[0].message.find("$.a.left: is 3 characters long") == 0);
}

TEST_CASE("a $ref that names no definition, or loops, is a contract violation and not a hang") {
  const json missing = {{"type", "object"}, {"properties", {{"a", {{"$ref", "#/$defs/nothing"}}}}}};
  const auto errors = pipeline::llm::contract_violations(missing, json{{"a", 1}});
  REQUIRE(errors.size() == 1);
  CHECK(mentions(errors, "$.a: the schema's $ref \"#/$defs/nothing\" names no definition in $defs"));
  const json looping = {{"$defs", {{"self", {{"$ref", "#/$defs/self"}}}}}, {"$ref", "#/$defs/self"}};
  const auto loop = pipeline::llm::contract_violations(looping, json{{"a", 1}});
  REQUIRE(loop.size() == 1);
  CHECK(mentions(loop, "nests more than 32 deep"));
}

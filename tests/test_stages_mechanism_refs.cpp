#include <doctest/doctest.h>

#include "lib/llm/json_schema.hpp"
#include "stages/mechanism_refs.hpp"
#include "stages/stage_registry.hpp"
#include "tests/support/stage_samples.hpp"

using nlohmann::json;
using namespace pipeline::stages;
using pipeline::llm::validate_json;

namespace {

const json& signals_schema() {
  const Stage* stage = find_stage("signals");
  REQUIRE(stage != nullptr);
  return stage->schema();
}

// The sample signals answer with only mechanisms M1 and M2, as if stage 1 had found two.
json two_mechanism_signals() {
  json output = pipeline::testing::sample_output(2);
  output["anatomies"].erase(2);
  for (auto& signal : output["signals"]) signal["mechanism_ids"] = {"M1"};
  return output;
}

bool names_error(const std::vector<std::string>& errors, const std::string& text) {
  for (const auto& error : errors)
    if (error.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("stage 1's mechanisms are numbered in order, whatever ids the model wrote") {
  json output = {{"mechanisms", {{{"id", "M3"}, {"name", "a"}}, {{"id", "M2"}, {"name", "b"}}, {{"id", "M3"}, {"name", "c"}}}},
                 {"summary", "kept"}};
  number_mechanisms(output);
  REQUIRE(output["mechanisms"].size() == 3);
  CHECK(output["mechanisms"][0] == json{{"id", "M1"}, {"name", "a"}});
  CHECK(output["mechanisms"][1] == json{{"id", "M2"}, {"name", "b"}});
  CHECK(output["mechanisms"][2] == json{{"id", "M3"}, {"name", "c"}});
  CHECK(output["summary"] == "kept");
}

TEST_CASE("numbering leaves an output without a mechanisms list alone and skips non-objects") {
  json none = {{"other", 1}};
  number_mechanisms(none);
  CHECK(none == json{{"other", 1}});
  json text = {{"mechanisms", "M9"}};
  number_mechanisms(text);
  CHECK(text == json{{"mechanisms", "M9"}});
  json mixed = {{"mechanisms", {"loose", {{"id", "x"}}}}};
  number_mechanisms(mixed);
  // A position still counts when its entry is no object, so ids match positions.
  CHECK(mixed["mechanisms"] == json{"loose", {{"id", "M2"}}});
}

TEST_CASE("found_mechanism_ids reads stage 1's ids in order") {
  CHECK(found_mechanism_ids(pipeline::testing::sample_context(2)) == std::vector<std::string>{"M1", "M2", "M3"});
  CHECK(found_mechanism_ids(StageContext{}).empty());
  StageContext context;
  context.outputs[1] = {{"mechanisms", {{{"id", "M2"}}, {{"name", "no id"}}, {{"id", 3}}, {{"id", "M1"}}}}};
  CHECK(found_mechanism_ids(context) == std::vector<std::string>{"M2", "M1"});
  // Another stage's output does not count.
  StageContext later;
  later.outputs[2] = {{"mechanisms", {{{"id", "M1"}}}}};
  CHECK(found_mechanism_ids(later).empty());
}

TEST_CASE("limiting narrows every mechanism_id enum and mechanism_ids item enum, at any depth") {
  const json schema = json::parse(R"({
    "type": "object",
    "properties": {
      "mechanism_id": {"type": "string", "enum": ["M1", "M2", "M3"]},
      "cards": {"type": "array", "items": {"type": "object", "properties": {
        "mechanism_id": {"type": "string", "enum": ["M1", "M2", "M3"], "description": "kept"},
        "deeper": {"anyOf": [{"type": "object", "properties": {
          "mechanism_ids": {"type": "array", "items": {"type": "string", "enum": ["M1", "M2", "M3"]}}}},
          {"type": "null"}]}}}},
      "other_id": {"type": "string", "enum": ["M1", "M2", "M3"]},
      "mechanism_ids": {"type": "array", "items": {"type": "string"}}
    }
  })");
  const json limited = limit_mechanism_refs(schema, {"M1", "M2"});
  const json narrowed = {"M1", "M2"};
  CHECK(limited["properties"]["mechanism_id"]["enum"] == narrowed);
  const json& card = limited["properties"]["cards"]["items"]["properties"];
  CHECK(card["mechanism_id"] == json{{"type", "string"}, {"enum", narrowed}, {"description", "kept"}});
  CHECK(card["deeper"]["anyOf"][0]["properties"]["mechanism_ids"]["items"]["enum"] == narrowed);
  // Only mechanism references are narrowed, and a free-form list gains no enum.
  CHECK(limited["properties"]["other_id"] == schema["properties"]["other_id"]);
  CHECK(limited["properties"]["mechanism_ids"] == schema["properties"]["mechanism_ids"]);
  // No ids found means nothing to limit to.
  CHECK(limit_mechanism_refs(schema, {}) == schema);
}

TEST_CASE("a signals answer naming a mechanism stage 1 did not find breaks the limited contract") {
  const json limited = limit_mechanism_refs(signals_schema(), {"M1", "M2"});
  const json good = two_mechanism_signals();
  REQUIRE(validate_json(limited, good).empty());

  json anatomy_m3 = good;
  anatomy_m3["anatomies"][1]["mechanism_id"] = "M3";
  // The full schema allows M3; only the limited one refuses it.
  CHECK(validate_json(signals_schema(), anatomy_m3).empty());
  const auto anatomy_errors = validate_json(limited, anatomy_m3);
  REQUIRE(anatomy_errors.size() == 1);
  CHECK(anatomy_errors[0].rfind("$.anatomies[1].mechanism_id: \"M3\" is not one of", 0) == 0);

  json signal_m3 = good;
  signal_m3["signals"][0]["mechanism_ids"] = {"M2", "M3"};
  CHECK(validate_json(signals_schema(), signal_m3).empty());
  CHECK(names_error(validate_json(limited, signal_m3), "$.signals[0].mechanism_ids[1]: \"M3\" is not one of"));
}

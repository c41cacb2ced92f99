#include <doctest/doctest.h>

#include "lib/llm/schema_lowering.hpp"
#include "stages/stage_registry.hpp"
#include "tests/fake_server/provider_dialect.hpp"

using nlohmann::json;
using namespace pipeline::llm;
using pipeline::testing::anthropic_schema_problem;
using pipeline::testing::openai_schema_problem;

namespace {

ProviderProfile lowering_profile(const char* name) {
  auto profile = profile_by_dialect(name);
  REQUIRE_MESSAGE(profile, name);
  return *profile;
}

// The keywords a lowered schema may not hold anywhere, at any depth.
int count_keyword(const json& schema, const std::string& keyword) {
  if (schema.is_array()) {
    int count = 0;
    for (const auto& item : schema) count += count_keyword(item, keyword);
    return count;
  }
  if (!schema.is_object()) return 0;
  int count = schema.contains(keyword) ? 1 : 0;
  for (const auto& [name, value] : schema.items()) {
    // A property may be named like a keyword; only schema nodes count.
    if (name == "properties" || name == "$defs") {
      for (const auto& [member_name, member] : value.items()) count += count_keyword(member, keyword);
    } else if (value.is_structured()) {
      count += count_keyword(value, keyword);
    }
  }
  return count;
}

// A bounded string at each place a subschema can sit.
const json k_nested = json::parse(R"({
  "type": "object", "additionalProperties": false, "required": ["title", "steps", "choice", "ref"],
  "properties": {
    "title": {"type": "string", "minLength": 1, "maxLength": 80, "description": "The card's title"},
    "steps": {"type": "array", "minItems": 1, "maxItems": 4,
              "items": {"type": "string", "minLength": 3}},
    "choice": {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "integer", "minimum": 0}]},
    "ref": {"$ref": "#/$defs/code"}
  },
  "$defs": {"code": {"type": "string", "pattern": "^[A-Z]{2}$", "minLength": 2, "maxLength": 2}}
})");

const std::vector<std::string> k_length_keywords = {"minLength", "maxLength"};

}  // namespace

TEST_CASE("the openai lowering removes string lengths at every depth and says them in the description") {
  const json lowered = lower_schema(k_nested, lowering_profile("openai"));
  for (const auto& keyword : k_length_keywords) {
    CAPTURE(keyword);
    CHECK(count_keyword(lowered, keyword) == 0);
  }
  // Rules follow the description after a full stop, or stand alone without one.
  CHECK(lowered["properties"]["title"]["description"] == "The card's title. Rules: not empty; at most 80 characters.");
  CHECK(lowered["properties"]["steps"]["items"]["description"] == "Rules: at least 3 characters.");
  CHECK(lowered["properties"]["choice"]["anyOf"][0]["description"] == "Rules: at most 5 characters.");
  CHECK(lowered["$defs"]["code"]["description"] == "Rules: exactly 2 characters.");
  // Everything OpenAI takes passes through unchanged.
  CHECK(lowered["$defs"]["code"]["pattern"] == "^[A-Z]{2}$");
  CHECK(lowered["properties"]["choice"]["anyOf"][1] == json{{"type", "integer"}, {"minimum", 0}});
  CHECK(lowered["properties"]["steps"]["minItems"] == 1);
  CHECK(lowered["properties"]["steps"]["maxItems"] == 4);
  CHECK(lowered["properties"]["ref"] == json{{"$ref", "#/$defs/code"}});
  CHECK(lowered["required"] == k_nested["required"]);
  CHECK(lowered["additionalProperties"] == false);
}

TEST_CASE("the openai lowering keeps enums, patterns and number bounds and leaves unbounded fields alone") {
  const json schema = json::parse(R"({
    "type": "object", "additionalProperties": false, "required": ["kind", "score", "code"],
    "properties": {
      "kind": {"type": "string", "enum": ["a", "b"], "description": "Which"},
      "score": {"type": "number", "minimum": 0.5, "maximum": 10},
      "code": {"type": "string", "pattern": "^When .+$"}
    }
  })");
  CHECK(lower_schema(schema, lowering_profile("openai")) == schema);
}

TEST_CASE("the anthropic lowering puts bounds, counts and patterns into words") {
  const json schema = json::parse(R"({
    "type": "object", "additionalProperties": false, "required": ["steps", "score", "hook", "tags", "note"],
    "properties": {
      "steps": {"type": "array", "minItems": 3, "maxItems": 3, "items": {"type": "string"}},
      "tags": {"type": "array", "minItems": 0, "maxItems": 4, "items": {"type": "string"}},
      "score": {"type": "integer", "minimum": 1, "maximum": 5, "description": "How strong"},
      "hook": {"type": "string", "pattern": "^When .+$"},
      "note": {"type": ["string", "null"], "maxLength": 40, "description": "A remark"}
    }
  })");
  const json lowered = lower_schema(schema, lowering_profile("anthropic"));
  const json& properties = lowered["properties"];
  // Equal counts read as one exact count, never as a range.
  CHECK(properties["steps"]["type"] == "array");
  CHECK(properties["steps"]["items"] == json{{"type", "string"}});
  const std::string steps = properties["steps"]["description"];
  CHECK(steps == "Rules: exactly 3 items.");
  CHECK(steps.find("at least") == std::string::npos);
  CHECK(steps.find("at most") == std::string::npos);
  CHECK_FALSE(properties["steps"].contains("minItems"));
  CHECK_FALSE(properties["steps"].contains("maxItems"));
  // minItems 0 constrains nothing, so only the upper count is said.
  CHECK(properties["tags"] ==
        json{{"type", "array"}, {"items", {{"type", "string"}}}, {"description", "Rules: at most 4 items."}});
  CHECK(properties["score"] ==
        json{{"type", "integer"}, {"description", "How strong. Rules: at least 1; at most 5."}});
  CHECK(properties["hook"] ==
        json{{"type", "string"}, {"description", "Rules: matching the pattern `^When .+$`."}});
  // A nullable field becomes anyOf [the type, null], the description on the outside.
  CHECK(properties["note"] ==
        json{{"anyOf", {{{"type", "string"}}, {{"type", "null"}}}},
             {"description", "A remark. Rules: at most 40 characters."}});
}

TEST_CASE("the gemini lowering turns const into an enum, type arrays into nullable and drops additionalProperties") {
  const json schema = json::parse(R"({
    "type": "object", "additionalProperties": false, "required": ["kind", "note", "count"],
    "properties": {
      "kind": {"type": "string", "const": "opportunities"},
      "note": {"type": ["string", "null"]},
      "count": {"type": "integer", "minimum": 1, "maximum": 9},
      "inner": {"type": "object", "additionalProperties": false, "properties": {}, "required": []}
    }
  })");
  const json lowered = lower_schema(schema, lowering_profile("gemini"));
  CHECK_FALSE(lowered.contains("additionalProperties"));
  CHECK_FALSE(lowered["properties"]["inner"].contains("additionalProperties"));
  CHECK(lowered["properties"]["kind"] == json{{"type", "string"}, {"enum", {"opportunities"}}});
  CHECK(lowered["properties"]["note"] == json{{"type", "string"}, {"nullable", true}});
  CHECK(lowered["properties"]["count"] == json{{"type", "integer"}, {"minimum", 1}, {"maximum", 9}});
}

TEST_CASE("a type array with two real types is left as it is, having no single nullable form") {
  const json schema = {{"type", {"string", "integer", "null"}}};
  CHECK(lower_schema(schema, lowering_profile("anthropic")) == schema);
  CHECK(lower_schema(schema, lowering_profile("gemini")) == schema);
}

TEST_CASE("the structural schema keeps only structure, every bound in words") {
  const json structural = structural_schema(k_nested, lowering_profile("openai"));
  const json expected = json::parse(R"({
    "type": "object", "additionalProperties": false, "required": ["title", "steps", "choice", "ref"],
    "properties": {
      "title": {"type": "string", "description": "The card's title. Rules: not empty; at most 80 characters."},
      "steps": {"type": "array", "description": "Rules: at least 1 item; at most 4 items.",
                "items": {"type": "string", "description": "Rules: at least 3 characters."}},
      "choice": {"anyOf": [{"type": "string", "description": "Rules: at most 5 characters."},
                           {"type": "integer", "description": "Rules: at least 0."}]},
      "ref": {"$ref": "#/$defs/code"}
    },
    "$defs": {"code": {"type": "string",
                       "description": "Rules: exactly 2 characters; matching the pattern `^[A-Z]{2}$`."}}
  })");
  CHECK(structural == expected);
}

TEST_CASE("describe_rule says each keyword in words") {
  const json none = json::object();
  CHECK(describe_rule("minLength", 1, none) == "not empty");
  CHECK(describe_rule("minLength", 4, none) == "at least 4 characters");
  CHECK(describe_rule("maxLength", 80, none) == "at most 80 characters");
  CHECK(describe_rule("minimum", 0.5, none) == "at least 0.5");
  CHECK(describe_rule("maximum", 10.0, none) == "at most 10");
  CHECK(describe_rule("exclusiveMinimum", 0, none) == "more than 0");
  CHECK(describe_rule("exclusiveMaximum", 1, none) == "less than 1");
  CHECK(describe_rule("multipleOf", 5, none) == "a multiple of 5");
  CHECK(describe_rule("minItems", 2, {{"maxItems", 3}}) == "at least 2 items");
  CHECK(describe_rule("maxItems", 3, {{"minItems", 3}}) == "exactly 3 items");
  CHECK(describe_rule("uniqueItems", true, none) == "no item twice");
  CHECK(describe_rule("format", "uri", none) == "in the format \"uri\"");
  CHECK(describe_rule("pattern", "^a$", none) == "matching the pattern `^a$`");
  CHECK(describe_rule("propertyNames", json{{"maxLength", 3}}, none) == "`propertyNames` {\"maxLength\":3}");
}

TEST_CASE("every stage schema, lowered for OpenAI, passes OpenAI's strict checks; unlowered it does not") {
  const auto openai = lowering_profile("openai");
  for (const auto& stage : pipeline::stages::all_stages()) {
    const std::string name(stage->name());
    CAPTURE(name);
    const json& schema = stage->schema();
    CHECK(openai_schema_problem(lower_schema(schema, openai), name) == "");
    const std::string unlowered = openai_schema_problem(schema, name);
    CHECK(unlowered.find("'minLength' is not permitted.") != std::string::npos);
  }
}

TEST_CASE("every stage schema, lowered or structural for Anthropic, passes Anthropic's checks; unlowered it does not") {
  const auto anthropic = lowering_profile("anthropic");
  for (const auto& stage : pipeline::stages::all_stages()) {
    CAPTURE(stage->name());
    const json& schema = stage->schema();
    CHECK(anthropic_schema_problem(lower_schema(schema, anthropic)) == "");
    CHECK(anthropic_schema_problem(structural_schema(schema, anthropic)) == "");
    CHECK(anthropic_schema_problem(schema) != "");
  }
}

TEST_CASE("patterns for grammar-based servers use classes that llama.cpp's converter copies right") {
  using pipeline::llm::grammar_safe_pattern;
  // \S, \s and . admit no raw quote or backslash, which would break the JSON the grammar makes.
  CHECK(grammar_safe_pattern("^\\S+(\\s+\\S+){0,7}$") == "^[^ \"\\\\]+([ ]+[^ \"\\\\]+){0,7}$");
  CHECK(grammar_safe_pattern("^When .+, removing .+ by .+ creates .+$") ==
        "^When [^\"\\\\]+, removing [^\"\\\\]+ by [^\"\\\\]+ creates [^\"\\\\]+$");
  CHECK(grammar_safe_pattern("^[A-Z]{3}$") == "^[A-Z]{3}$");
  CHECK(grammar_safe_pattern("^a\\.b$") == "^a\\.b$");
  // What it cannot rewrite is said in words instead.
  CHECK_FALSE(grammar_safe_pattern("^\\d+$"));
  CHECK_FALSE(grammar_safe_pattern("^[\\s]+$"));
  CHECK_FALSE(grammar_safe_pattern("^[a-z"));
}

TEST_CASE("llama.cpp's strict schema carries rewritten patterns; a pattern it cannot take goes into the description") {
  const auto profile = *pipeline::llm::profile_by_dialect("llama.cpp");
  CHECK(profile.grammar_patterns);
  const nlohmann::json schema = {
      {"type", "object"},
      {"properties",
       {{"title", {{"type", "string"}, {"pattern", "^\\S+(\\s+\\S+){0,7}$"}}},
        {"code", {{"type", "string"}, {"pattern", "^\\d{3}$"}, {"description", "A code"}}}}},
      {"required", {"title", "code"}},
      {"additionalProperties", false}};
  const auto lowered = pipeline::llm::lower_schema(schema, profile);
  CHECK(lowered["properties"]["title"]["pattern"] == "^[^ \"\\\\]+([ ]+[^ \"\\\\]+){0,7}$");
  CHECK_FALSE(lowered["properties"]["code"].contains("pattern"));
  CHECK(lowered["properties"]["code"]["description"].get<std::string>().find("Rules:") != std::string::npos);
  // OpenAI's strict mode takes the pattern as written.
  const auto openai = pipeline::llm::lower_schema(schema, *pipeline::llm::profile_by_dialect("openai"));
  CHECK(openai["properties"]["title"]["pattern"] == "^\\S+(\\s+\\S+){0,7}$");
}

TEST_CASE("references stay for OpenAI and Anthropic and are inlined for every other profile") {
  const json schema = json::parse(R"({
    "type": "object", "additionalProperties": false, "required": ["first", "second", "maybe"],
    "$defs": {"concept": {"type": "object", "additionalProperties": false, "required": ["title"],
                          "properties": {"title": {"type": "string", "maxLength": 80, "description": "A title"}}}},
    "properties": {"first": {"$ref": "#/$defs/concept"}, "second": {"$ref": "#/$defs/concept"},
                   "maybe": {"anyOf": [{"$ref": "#/$defs/concept"}, {"type": "null"}]}}
  })");
  for (const char* name : {"openai", "anthropic"}) {
    CAPTURE(name);
    const auto profile = lowering_profile(name);
    CHECK(profile.refs);
    const json lowered = lower_schema(schema, profile);
    CHECK(lowered["properties"]["first"] == json{{"$ref", "#/$defs/concept"}});
    CHECK(count_keyword(lowered, "$ref") == 3);
    CHECK(lowered["$defs"]["concept"]["properties"]["title"]["description"] == "A title. Rules: at most 80 characters.");
  }
  CHECK(openai_schema_problem(lower_schema(schema, lowering_profile("openai")), "plan") == "");
  CHECK(anthropic_schema_problem(lower_schema(schema, lowering_profile("anthropic"))) == "");
  for (const char* name : {"gemini", "ollama", "llama.cpp", "vllm", "lm-studio", "generic"}) {
    CAPTURE(name);
    const auto profile = lowering_profile(name);
    CHECK_FALSE(profile.refs);
    for (const json& lowered : {lower_schema(schema, profile), structural_schema(schema, profile)}) {
      CHECK(count_keyword(lowered, "$ref") == 0);
      CHECK(count_keyword(lowered, "$defs") == 0);
      CHECK(lowered["properties"]["first"]["properties"].contains("title"));
      CHECK(lowered["properties"]["first"] == lowered["properties"]["second"]);
    }
  }
  // Gemini's OpenAPI subset has no null type: anyOf [X, null] goes as X, nullable.
  const json gemini = lower_schema(schema, lowering_profile("gemini"));
  CHECK(gemini["properties"]["maybe"]["nullable"] == true);
  CHECK(gemini["properties"]["maybe"]["type"] == "object");
  CHECK_FALSE(gemini["properties"]["maybe"].contains("anyOf"));
}

TEST_CASE("OpenAI's checks, as the fake plays them, refuse a $ref with other keywords or to no definition") {
  const json beside = {{"type", "object"}, {"additionalProperties", false}, {"required", {"a"}},
                       {"$defs", {{"x", {{"type", "string"}}}}},
                       {"properties", {{"a", {{"$ref", "#/$defs/x"}, {"description", "A"}}}}}};
  CHECK(openai_schema_problem(beside, "s").find("$ref cannot have keywords") != std::string::npos);
  json nowhere = beside;
  nowhere["properties"]["a"] = {{"$ref", "#/$defs/y"}};
  CHECK(openai_schema_problem(nowhere, "s").find("reference to component '#/$defs/y' which was not found") != std::string::npos);
  nowhere["properties"]["a"] = {{"$ref", "#/$defs/x"}};
  CHECK(openai_schema_problem(nowhere, "s") == "");
}

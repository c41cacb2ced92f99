#include <doctest/doctest.h>

#include "tests/fake_server/provider_dialect.hpp"

using nlohmann::json;
using namespace pipeline::testing;

namespace {

// A closed object schema, as OpenAI's strict mode wants every object.
json closed(json properties) {
  json required = json::array();
  for (const auto& [name, member] : properties.items()) required.push_back(name);
  return {{"type", "object"}, {"additionalProperties", false}, {"required", required}, {"properties", properties}};
}

// Stage 1's shape where OpenAI first finds a string length.
const json k_mechanisms = closed(
    {{"evidence", closed({{"gaps", {{"type", "array"}, {"items", {{"type", "string"}, {"minLength", 1}}}}}})}});

const std::string k_mechanisms_problem =
    "Invalid schema for response_format 'mechanisms': In context=('properties', 'evidence', 'properties', 'gaps', "
    "'items'), 'minLength' is not permitted.";

json chat_body(json response_format, const std::string& system = "Answer the question.") {
  json body = {{"model", "m"},
               {"messages", {{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", "Go."}}}}};
  if (!response_format.is_null()) body["response_format"] = std::move(response_format);
  return body;
}

json json_schema_format(const json& schema, bool strict) {
  return {{"type", "json_schema"}, {"json_schema", {{"name", "mechanisms"}, {"strict", strict}, {"schema", schema}}}};
}

const json k_json_object = {{"type", "json_object"}};

// A schema every dialect takes.
const json k_plain = closed({{"title", {{"type", "string"}}}});

// A schema only OpenAI takes: Anthropic refuses the number bound.
const json k_bounded = closed({{"count", {{"type", "integer"}, {"minimum", 1}}}});

constexpr Dialect k_all[] = {Dialect::any,    Dialect::openai,   Dialect::anthropic, Dialect::json_object_only,
                             Dialect::no_structured_output, Dialect::no_usage, Dialect::openai_reasoning,
                             Dialect::openrouter};

}  // namespace

TEST_CASE("OpenAI's first problem names the schema and the path to the keyword, as OpenAI writes it") {
  CHECK(openai_schema_problem(k_mechanisms, "mechanisms") == k_mechanisms_problem);
  CHECK(openai_schema_problem(k_plain, "x").empty());
  // A path of one element is a Python tuple with a trailing comma.
  json root_items = closed(json::object());
  root_items["items"] = {{"type", "string"}, {"minLength", 1}};
  CHECK(openai_schema_problem(root_items, "x") ==
        "Invalid schema for response_format 'x': In context=('items',), 'minLength' is not permitted.");
  const json list_items = closed({{"list", {{"type", "array"}, {"items", {{"type", "string"}, {"maxLength", 3}}}}}});
  CHECK(openai_schema_problem(list_items, "x") ==
        "Invalid schema for response_format 'x': In context=('properties', 'list', 'items'), 'maxLength' is not "
        "permitted.");
  const json options = closed({{"pick", {{"anyOf", {{{"type", "string"}}, {{"type", "string"}, {"uniqueItems", true}}}}}}});
  CHECK(openai_schema_problem(options, "x") ==
        "Invalid schema for response_format 'x': In context=('properties', 'pick', 'anyOf', '1'), 'uniqueItems' is "
        "not permitted.");
  json defs = k_plain;
  defs["$defs"] = {{"code", {{"type", "string"}, {"minLength", 2}}}};
  CHECK(openai_schema_problem(defs, "x") ==
        "Invalid schema for response_format 'x': In context=('$defs', 'code'), 'minLength' is not permitted.");
}

TEST_CASE("OpenAI wants every object closed and every property required") {
  json open = k_plain;
  open.erase("additionalProperties");
  CHECK(openai_schema_problem(open, "x") ==
        "Invalid schema for response_format 'x': In context=(), 'additionalProperties' is required to be supplied "
        "and to be false.");
  json nested_open = closed({{"inner", {{"type", "object"}, {"properties", json::object()}, {"additionalProperties", true}}}});
  CHECK(openai_schema_problem(nested_open, "x") ==
        "Invalid schema for response_format 'x': In context=('properties', 'inner'), 'additionalProperties' is "
        "required to be supplied and to be false.");
  json optional = closed({{"a", {{"type", "string"}}}, {"b", {{"type", "string"}}}});
  optional["required"] = {"a"};
  CHECK(openai_schema_problem(optional, "x") ==
        "Invalid schema for response_format 'x': In context=(), 'required' is required to be supplied and to be an "
        "array including every key in properties. Missing 'b'.");
}

TEST_CASE("OpenAI wants an object at the root") {
  CHECK(openai_schema_problem({{"type", "array"}, {"items", {{"type", "string"}}}}, "x") ==
        "Invalid schema for response_format 'x': schema must be a JSON Schema of 'type: \"object\"', got 'type: "
        "\"array\"'.");
  CHECK(openai_schema_problem({{"properties", json::object()}}, "x") ==
        "Invalid schema for response_format 'x': schema must be a JSON Schema of 'type: \"object\"', got 'type: "
        "null'.");
  CHECK(openai_schema_problem("text", "x") ==
        "Invalid schema for response_format 'x': schema must be a JSON Schema of 'type: \"object\"', got 'type: "
        "\"text\"'.");
}

TEST_CASE("OpenAI refuses lookaround in patterns and formats outside its list") {
  const auto with_string = [](json string_schema) { return closed({{"s", std::move(string_schema)}}); };
  const std::string where = "Invalid schema for response_format 'x': In context=('properties', 's'), ";
  CHECK(openai_schema_problem(with_string({{"type", "string"}, {"pattern", "^(?!x).+$"}}), "x") ==
        where + "'pattern' is not permitted.");
  CHECK(openai_schema_problem(with_string({{"type", "string"}, {"pattern", "(?<=a)b"}}), "x") ==
        where + "'pattern' is not permitted.");
  CHECK(openai_schema_problem(with_string({{"type", "string"}, {"pattern", "^When .+$"}}), "x").empty());
  CHECK(openai_schema_problem(with_string({{"type", "string"}, {"format", "uri"}}), "x") ==
        where + "'format' is not permitted.");
  CHECK(openai_schema_problem(with_string({{"type", "string"}, {"format", "date"}}), "x").empty());
  CHECK(openai_schema_problem(with_string({{"type", "string"}, {"format", "email"}}), "x").empty());
}

TEST_CASE("Anthropic names the type and the keyword it refuses, at any depth") {
  CHECK(anthropic_schema_problem(k_bounded) == "For 'integer' type, property 'minimum' is not supported");
  CHECK(anthropic_schema_problem(k_plain).empty());
  CHECK(anthropic_schema_problem(closed({{"note", {{"type", {"string", "null"}}, {"maxLength", 9}}}})) ==
        "For 'string' type, property 'maxLength' is not supported");
  CHECK(anthropic_schema_problem(closed({{"tags", {{"type", "array"}, {"items", {{"type", "string"}, {"pattern", "^a"}}}}}})) ==
        "For 'string' type, property 'pattern' is not supported");
  CHECK(anthropic_schema_problem({{"anyOf", {{{"type", "number"}, {"maximum", 1}}}}}) ==
        "For 'number' type, property 'maximum' is not supported");
  CHECK(anthropic_schema_problem({{"$defs", {{"d", {{"type", "array"}, {"maxItems", 2}}}}}}) ==
        "For 'array' type, property 'maxItems' is not supported");
  // minItems is taken only as 0 or 1.
  CHECK(anthropic_schema_problem({{"type", "array"}, {"minItems", 1}}).empty());
  CHECK(anthropic_schema_problem({{"type", "array"}, {"minItems", 0}}).empty());
  CHECK(anthropic_schema_problem({{"type", "array"}, {"minItems", 2}}) ==
        "For 'array' type, property 'minItems' is not supported for values other than 0 and 1");
}

TEST_CASE("OpenAI refuses a bad strict schema and json_object without the word json") {
  const auto refusal = refusal_for(Dialect::openai, chat_body(json_schema_format(k_mechanisms, true)));
  REQUIRE(refusal);
  CHECK(refusal->status == 400);
  CHECK(json::parse(refusal->body) == json{{"error",
                                            {{"message", k_mechanisms_problem},
                                             {"type", "invalid_request_error"},
                                             {"param", "response_format"},
                                             {"code", nullptr}}}});
  // Without strict OpenAI does not check the schema's keywords.
  CHECK_FALSE(refusal_for(Dialect::openai, chat_body(json_schema_format(k_mechanisms, false))));
  CHECK_FALSE(refusal_for(Dialect::openai, chat_body(json_schema_format(k_plain, true))));

  const auto no_word = refusal_for(Dialect::openai, chat_body(k_json_object));
  REQUIRE(no_word);
  CHECK(no_word->status == 400);
  const json error = json::parse(no_word->body)["error"];
  CHECK(error["message"] == "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
                            "'json_object'.");
  CHECK(error["param"] == "messages");
  CHECK_FALSE(refusal_for(Dialect::openai, chat_body(k_json_object, "Answer with JSON only.")));
  CHECK_FALSE(refusal_for(Dialect::openai, chat_body(nullptr)));
}

TEST_CASE("Anthropic's refusal is OpenRouter's wrapper around Anthropic's own error") {
  for (bool strict : {true, false}) {
    CAPTURE(strict);
    const auto refusal = refusal_for(Dialect::anthropic, chat_body(json_schema_format(k_bounded, strict)));
    REQUIRE(refusal);
    CHECK(refusal->status == 400);
    const json body = json::parse(refusal->body);
    CHECK(body["error"]["message"] == "Provider returned error");
    CHECK(body["error"]["code"] == 400);
    CHECK(body["error"]["metadata"]["provider_name"] == "Anthropic");
    const json raw = json::parse(body["error"]["metadata"]["raw"].get<std::string>());
    CHECK(raw["type"] == "error");
    CHECK(raw["error"]["type"] == "invalid_request_error");
    CHECK(raw["error"]["message"] == "output_format.schema: For 'integer' type, property 'minimum' is not supported");
  }
  // Anthropic takes what it can compile, json_object with no word json, and no response_format.
  CHECK_FALSE(refusal_for(Dialect::anthropic, chat_body(json_schema_format(k_plain, true))));
  CHECK_FALSE(refusal_for(Dialect::anthropic, chat_body(k_json_object)));
  CHECK_FALSE(refusal_for(Dialect::anthropic, chat_body(nullptr)));
}

namespace {

// Checks that a refusal is OpenRouter's 404 for parameters no endpoint takes.
void expect_no_endpoints(const std::optional<Refusal>& refusal) {
  REQUIRE(refusal);
  CHECK(refusal->status == 404);
  const json error = json::parse(refusal->body)["error"];
  CHECK(error["code"] == 404);
  CHECK(error["message"].get<std::string>().rfind("No endpoints found that can handle the requested parameters.", 0) ==
        0);
}

}  // namespace

TEST_CASE("models without json_schema, or without any response_format, answer OpenRouter's 404") {
  for (bool strict : {true, false}) {
    CAPTURE(strict);
    expect_no_endpoints(refusal_for(Dialect::json_object_only, chat_body(json_schema_format(k_plain, strict))));
    expect_no_endpoints(refusal_for(Dialect::no_structured_output, chat_body(json_schema_format(k_plain, strict))));
  }
  CHECK_FALSE(refusal_for(Dialect::json_object_only, chat_body(k_json_object)));
  expect_no_endpoints(refusal_for(Dialect::no_structured_output, chat_body(k_json_object)));
}

TEST_CASE("no dialect refuses a request without response_format; any and no-usage refuse nothing") {
  for (Dialect dialect : k_all) {
    CAPTURE(static_cast<int>(dialect));
    CHECK_FALSE(refusal_for(dialect, chat_body(nullptr)));
  }
  for (Dialect dialect : {Dialect::any, Dialect::no_usage}) {
    CAPTURE(static_cast<int>(dialect));
    CHECK_FALSE(refusal_for(dialect, chat_body(json_schema_format(k_mechanisms, true))));
    CHECK_FALSE(refusal_for(dialect, chat_body(k_json_object)));
  }
}

TEST_CASE("dialect names parse to their dialects; only no-usage withholds usage") {
  const auto& names = dialect_names();
  REQUIRE(names.size() == std::size(k_all));
  for (std::size_t i = 0; i < names.size(); ++i) {
    CAPTURE(names[i]);
    CHECK(parse_dialect(names[i]) == k_all[i]);
    CHECK(reports_usage(k_all[i]) == (k_all[i] != Dialect::no_usage));
  }
  CHECK(names[3] == "json-object-only");
  CHECK_FALSE(parse_dialect("json_object_only"));
  CHECK_FALSE(parse_dialect("OpenAI"));
  CHECK_FALSE(parse_dialect(""));
}

TEST_CASE("openai-reasoning refuses max_tokens and any temperature but 1 with OpenAI's own bodies") {
  nlohmann::json body = {{"model", "gpt-5-mini"}, {"messages", nlohmann::json::array()}, {"max_tokens", 100}};
  auto refusal = parameter_refusal(Dialect::openai_reasoning, body, nullptr);
  REQUIRE(refusal);
  CHECK(refusal->status == 400);
  const auto error = nlohmann::json::parse(refusal->body)["error"];
  CHECK(error["param"] == "max_tokens");
  CHECK(error["code"] == "unsupported_parameter");
  CHECK(error["message"] == "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                            "'max_completion_tokens' instead.");
  body.erase("max_tokens");
  body["max_completion_tokens"] = 100;
  body["temperature"] = 0.2;
  refusal = parameter_refusal(Dialect::openai_reasoning, body, nullptr);
  REQUIRE(refusal);
  CHECK(nlohmann::json::parse(refusal->body)["error"]["message"] ==
        "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is "
        "supported.");
  body["temperature"] = 1;
  CHECK_FALSE(parameter_refusal(Dialect::openai_reasoning, body, nullptr));
  CHECK(reasons(Dialect::openai_reasoning, body));
}

TEST_CASE("openrouter answers 404 for a parameter the model lacks only under require_parameters") {
  const auto supported = openrouter_supported_parameters("openai/gpt-5-mini");
  nlohmann::json body = {{"model", "openai/gpt-5-mini"}, {"messages", nlohmann::json::array()}, {"temperature", 0.3}};
  CHECK_FALSE(parameter_refusal(Dialect::openrouter, body, supported));  // dropped, as OpenRouter does
  body["provider"] = {{"require_parameters", true}};
  expect_no_endpoints(parameter_refusal(Dialect::openrouter, body, supported));
  body.erase("temperature");
  body["reasoning"] = {{"effort", "low"}};
  CHECK_FALSE(parameter_refusal(Dialect::openrouter, body, supported));
  // A model without reasoning takes a temperature and no reasoning.
  body["model"] = "meta-llama/llama-3.3-70b-instruct";
  expect_no_endpoints(parameter_refusal(Dialect::openrouter, body, openrouter_supported_parameters(body["model"])));
  CHECK_FALSE(reasons(Dialect::openrouter, body));
}

TEST_CASE("openrouter keeps OpenAI's strict-schema rules for openai/ models, in OpenRouter's wrapping") {
  json body = chat_body(json_schema_format(k_mechanisms, true));
  body["model"] = "openai/gpt-5-mini";
  const auto refusal = refusal_for(Dialect::openrouter, body);
  REQUIRE(refusal);
  CHECK(refusal->status == 400);
  CHECK(json::parse(refusal->body)["error"]["metadata"]["provider_name"] == "OpenAI");
  body["model"] = "acme/deep-reasoner";
  CHECK_FALSE(refusal_for(Dialect::openrouter, body));
}

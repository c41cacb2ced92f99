#include <doctest/doctest.h>

#include "lib/llm/structured_output.hpp"

using namespace pipeline::llm;

namespace {

const nlohmann::json k_schema = nlohmann::json::parse(
    R"({"type":"object","required":["title"],"additionalProperties":false,"properties":{"title":{"type":"string","maxLength":10}}})");

ChatRequest schema_request(bool with_system) {
  ChatRequest request;
  if (with_system) request.messages.push_back({"system", "You are precise."});
  request.messages.push_back({"user", "Name it."});
  request.schema = k_schema;
  return request;
}

}  // namespace

TEST_CASE("prompt mode appends the schema between markers to the system message") {
  const auto messages = messages_to_send(schema_request(true), StructuredRung::prompt);
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].content.rfind("You are precise.", 0) == 0);
  CHECK(schema_from_prompt(messages[0].content) == k_schema);
  CHECK(messages[1].content == "Name it.");
}

TEST_CASE("prompt mode adds a system message when there is none") {
  const auto messages = messages_to_send(schema_request(false), StructuredRung::prompt);
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].role == "system");
  CHECK(schema_from_prompt(messages[0].content) == k_schema);
}

TEST_CASE("json_schema mode and schema-less requests leave the messages alone") {
  CHECK(messages_to_send(schema_request(true), StructuredRung::strict_schema).size() == 2);
  CHECK(messages_to_send(schema_request(true), StructuredRung::strict_schema)[0].content == "You are precise.");
  ChatRequest plain;
  plain.messages.push_back({"user", "hi"});
  CHECK(messages_to_send(plain, StructuredRung::prompt).size() == 1);
  CHECK_FALSE(schema_from_prompt("no markers here"));
}

TEST_CASE("answers are parsed through prose and checked against the schema") {
  auto good = check_structured_answer("```json\n{\"title\": \"Refill\"}\n```", k_schema);
  CHECK(good.error_class.empty());
  CHECK(good.json["title"] == "Refill");

  auto not_json = check_structured_answer("I cannot do that.", k_schema);
  CHECK(not_json.error_class == "invalid_json");

  auto wrong = check_structured_answer(R"({"title": "Far too long a title", "x": 1})", k_schema);
  CHECK(wrong.error_class == "schema_violation");
  CHECK(wrong.problem.find("$.title") != std::string::npos);
  CHECK(wrong.problem.find("\"x\" is not allowed") != std::string::npos);
  CHECK(reask_text(wrong).find(wrong.problem) != std::string::npos);
}

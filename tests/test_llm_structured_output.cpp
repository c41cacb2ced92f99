#include <doctest/doctest.h>

#include "lib/llm/structured_output.hpp"

using namespace pipeline::llm;

namespace {

const nlohmann::json k_schema = nlohmann::json::parse(
    R"({"type":"object","required":["title"],"additionalProperties":false,"properties":{"title":{"type":"string","maxLength":10}}})");

ChatRequest schema_asking(bool with_system) {
  ChatRequest request;
  if (with_system) request.messages.push_back({"system", "You are precise."});
  request.messages.push_back({"user", "Name it."});
  request.schema = k_schema;
  return request;
}

}  // namespace

TEST_CASE("prompt mode appends the schema between markers to the system message") {
  const auto messages = messages_to_send(schema_asking(true), StructuredRung::prompt);
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].content.rfind("You are precise.", 0) == 0);
  CHECK(schema_from_prompt(messages[0].content) == k_schema);
  CHECK(messages[1].content == "Name it.");
}

TEST_CASE("prompt mode adds a system message when there is none") {
  const auto messages = messages_to_send(schema_asking(false), StructuredRung::prompt);
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].role == "system");
  CHECK(schema_from_prompt(messages[0].content) == k_schema);
}

TEST_CASE("json_schema mode and schema-less requests leave the messages alone") {
  CHECK(messages_to_send(schema_asking(true), StructuredRung::strict_schema).size() == 2);
  CHECK(messages_to_send(schema_asking(true), StructuredRung::strict_schema)[0].content == "You are precise.");
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

namespace {

const std::string k_long_title = R"({"title": "Far too long a title"})";
const std::string k_long_title_problem = "$.title: is 20 characters long, longer than maxLength 10";

}  // namespace

TEST_CASE("an answer that breaks only style rules is a style violation that keeps its document") {
  const auto check = check_structured_answer(k_long_title, k_schema);
  CHECK(check.error_class == "style_violation");
  CHECK(check.problem == "the JSON does not match the schema: " + k_long_title_problem);
  CHECK(check.style_problems == std::vector<std::string>{k_long_title_problem});
  // The document is kept so that it can be used with a warning once the re-asks are spent.
  CHECK(check.json == nlohmann::json{{"title", "Far too long a title"}});
}

TEST_CASE("a broken contract rule makes it a schema violation, with the style problems still listed") {
  const auto check = check_structured_answer(R"({"title": "Far too long a title", "x": 1})", k_schema);
  CHECK(check.error_class == "schema_violation");
  CHECK(check.problem == "the JSON does not match the schema: " + k_long_title_problem +
                             "; $: property \"x\" is not allowed");
  CHECK(check.style_problems == std::vector<std::string>{k_long_title_problem});
}

TEST_CASE("the request's check runs on an answer whose contract holds and fails it as check_failed") {
  int checked = 0;
  ChatRequest request;
  request.check = [&checked](const nlohmann::json& answer) {
    ++checked;
    return answer["title"] == "Refill" ? std::string("M4 is not a mechanism stage 1 found") : std::string();
  };
  const auto refused = check_structured_answer(R"({"title": "Refill"})", k_schema, request);
  CHECK(refused.error_class == "check_failed");
  CHECK(refused.problem == "M4 is not a mechanism stage 1 found");
  CHECK(refused.style_problems.empty());
  // A contract failure of its own outranks a style problem.
  request.check = [&checked](const nlohmann::json&) {
    ++checked;
    return std::string("not a found mechanism");
  };
  CHECK(check_structured_answer(k_long_title, k_schema, request).error_class == "check_failed");
  CHECK(checked == 2);
  // The check is not run on an answer that already breaks the schema's contract.
  CHECK(check_structured_answer(R"({"x": 1})", k_schema, request).error_class == "schema_violation");
  CHECK(checked == 2);
  request.check = [](const nlohmann::json&) { return std::string(); };
  CHECK(check_structured_answer(R"({"title": "Refill"})", k_schema, request).error_class.empty());
}

TEST_CASE("a style_check problem joins the style problems") {
  ChatRequest request;
  request.style_check = [](const nlohmann::json&) { return std::string("the title repeats the brand name"); };
  const auto alone = check_structured_answer(R"({"title": "Refill"})", k_schema, request);
  CHECK(alone.error_class == "style_violation");
  CHECK(alone.problem == "the title repeats the brand name");
  CHECK(alone.style_problems == std::vector<std::string>{"the title repeats the brand name"});
  CHECK(alone.json["title"] == "Refill");

  const auto joined = check_structured_answer(k_long_title, k_schema, request);
  CHECK(joined.error_class == "style_violation");
  CHECK(joined.problem ==
        "the JSON does not match the schema: " + k_long_title_problem + "; the title repeats the brand name");
  CHECK(joined.style_problems == std::vector<std::string>{k_long_title_problem, "the title repeats the brand name"});

  // Phrasing is not judged while the contract is broken.
  const auto broken = check_structured_answer(R"({"title": 5})", k_schema, request);
  CHECK(broken.error_class == "schema_violation");
  CHECK(broken.style_problems.empty());
}

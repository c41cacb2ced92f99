#include <doctest/doctest.h>

#include "lib/llm/completion_decoder.hpp"

using namespace pipeline::llm;

namespace {

std::string chunk(const std::string& content, const char* finish = nullptr) {
  nlohmann::json json = {{"model", "m1"},
                         {"choices", {{{"index", 0}, {"delta", {{"content", content}}}, {"finish_reason", nullptr}}}}};
  if (finish) json["choices"][0]["finish_reason"] = finish;
  return "data: " + json.dump() + "\n\n";
}

}  // namespace

TEST_CASE("a streamed answer collects content, finish reason, model and usage") {
  StreamDecoder decoder;
  CHECK(decoder.feed(chunk("Hel") + ": OPENROUTER PROCESSING\n\n") == 1);
  CHECK(decoder.feed(": OPENROUTER PROCESSING\n\n") == 0);
  CHECK(decoder.feed(chunk("lo") + chunk("", "stop")) == 2);
  CHECK(decoder.streamed_chars() == 5);
  CHECK(decoder.feed("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n") == 2);
  decoder.finish();
  const auto& answer = decoder.answer();
  CHECK(answer.content == "Hello");
  CHECK(answer.finish_reason == "stop");
  CHECK(answer.model == "m1");
  CHECK(answer.usage["prompt_tokens"] == 3);
  CHECK(answer.done);
  CHECK_FALSE(answer.error);
}

TEST_CASE("OpenAI's error event inside a 200 stream is an error, not a short answer") {
  StreamDecoder decoder;
  decoder.feed(chunk("Partial "));
  decoder.feed("data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}\n\n");
  REQUIRE(decoder.answer().error);
  CHECK(*decoder.answer().error == "The server had an error");
}

TEST_CASE("an `event: error` whose data is the bare error object is an error") {
  StreamDecoder decoder;
  decoder.feed("event: error\ndata: {\"message\":\"overloaded\"}\n\n");
  REQUIRE(decoder.answer().error);
  CHECK(*decoder.answer().error == "overloaded");
}

TEST_CASE("OpenRouter's chunk with error and finish_reason error is an error") {
  StreamDecoder decoder;
  decoder.feed(chunk("Partial "));
  decoder.feed(
      "data: {\"error\":{\"code\":502,\"message\":\"Provider returned error\"},"
      "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"error\"}]}\n\ndata: [DONE]\n\n");
  REQUIRE(decoder.answer().error);
  CHECK(*decoder.answer().error == "Provider returned error (code 502)");
  CHECK(decoder.answer().finish_reason == "error");
}

TEST_CASE("a finish_reason of error without an error object is still an error") {
  StreamDecoder decoder;
  decoder.feed(chunk("x", "error"));
  CHECK(decoder.answer().error);
}

TEST_CASE("a chunk that is not JSON marks the answer malformed") {
  StreamDecoder decoder;
  decoder.feed("data: {not json\n\n");
  CHECK(decoder.answer().malformed);
}

TEST_CASE("a whole body is decoded, errors in it included") {
  auto answer = decode_completion_body(
      R"({"model":"m2","choices":[{"message":{"role":"assistant","content":"Hi"},"finish_reason":"length"}],"usage":{"prompt_tokens":1}})");
  CHECK(answer.content == "Hi");
  CHECK(answer.finish_reason == "length");
  CHECK(answer.model == "m2");
  CHECK(answer.done);
  CHECK(decode_completion_body(R"({"error":{"message":"boom"}})").error == std::optional<std::string>("boom"));
  CHECK(decode_completion_body("<html>").malformed);
  CHECK(decode_completion_body("{}").malformed);
}

TEST_CASE("provider error messages are read in both shapes") {
  CHECK(provider_error_message(nlohmann::json::parse(R"({"error":"plain text"})")) == "plain text");
  CHECK(provider_error_message(nlohmann::json::parse(R"({"error":{"message":"m","code":"c"}})")) == "m (code c)");
  CHECK(provider_error_message(nlohmann::json::parse(R"({"detail":"x"})")).empty());
}

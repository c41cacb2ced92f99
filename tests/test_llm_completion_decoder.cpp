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

TEST_CASE("OpenAI's streamed refusal is collected as a refusal, with no content") {
  StreamDecoder decoder;
  decoder.feed(
      "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-2024-08-06\","
      "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"refusal\":\"\"},"
      "\"logprobs\":null,\"finish_reason\":null}]}\n\n"
      "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-2024-08-06\","
      "\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\"I'm sorry, \"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
      "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-2024-08-06\","
      "\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\"I can't help with that.\"},\"logprobs\":null,"
      "\"finish_reason\":null}]}\n\n"
      "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-2024-08-06\","
      "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n"
      "data: [DONE]\n\n");
  const auto& answer = decoder.answer();
  REQUIRE(answer.refusal);
  CHECK(*answer.refusal == "I'm sorry, I can't help with that.");
  CHECK(answer.content.empty());
  CHECK(answer.finish_reason == "stop");
  CHECK_FALSE(answer.error);
}

TEST_CASE("a null or empty refusal is no refusal; a whole answer's message.refusal is one") {
  StreamDecoder decoder;
  decoder.feed(
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\",\"refusal\":null},"
      "\"finish_reason\":\"stop\"}]}\n\n");
  CHECK_FALSE(decoder.answer().refusal);
  const auto refused = decode_completion_body(
      R"({"id":"chatcmpl-2","object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[{"index":0,)"
      R"("message":{"role":"assistant","content":null,"refusal":"I can't assist with that request."},)"
      R"("logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":8}})");
  REQUIRE(refused.refusal);
  CHECK(*refused.refusal == "I can't assist with that request.");
  CHECK(refused.content.empty());
  CHECK(refused.usage["completion_tokens"] == 8);
  CHECK_FALSE(decode_completion_body(
                  R"({"choices":[{"index":0,"message":{"content":"ok","refusal":null},"finish_reason":"stop"}]})")
                  .refusal);
}

TEST_CASE("OpenRouter's token-limit error chunk after finish_reason length keeps the truncation and the usage") {
  StreamDecoder decoder;
  decoder.feed(
      "data: {\"id\":\"gen-1\",\"model\":\"openai/gpt-4o-mini\",\"choices\":[{\"index\":0,"
      "\"delta\":{\"role\":\"assistant\",\"content\":\"{\\\"mechanisms\\\": [\"},\"finish_reason\":null}]}\n\n"
      "data: {\"id\":\"gen-1\",\"model\":\"openai/gpt-4o-mini\",\"choices\":[{\"index\":0,"
      "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":\"length\",\"native_finish_reason\":\"length\"}]}\n\n"
      "data: {\"id\":\"gen-1\",\"model\":\"openai/gpt-4o-mini\",\"error\":{\"code\":400,\"message\":\"Token limit reached\"},"
      "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"error\"}]}\n\n"
      "data: {\"id\":\"gen-1\",\"model\":\"openai/gpt-4o-mini\",\"choices\":[],"
      "\"usage\":{\"prompt_tokens\":1200,\"completion_tokens\":4000,\"total_tokens\":5200,\"cost\":0.0026}}\n\n"
      "data: [DONE]\n\n");
  const auto& answer = decoder.answer();
  CHECK(answer.finish_reason == "length");
  REQUIRE(answer.error);
  CHECK(*answer.error == "Token limit reached (code 400)");
  CHECK(answer.usage["completion_tokens"] == 4000);
  CHECK(answer.usage["cost"] == 0.0026);
  CHECK(answer.done);
}

TEST_CASE("llama.cpp's `error:` line before [DONE] is an error, not an empty answer") {
  StreamDecoder decoder;
  CHECK(decoder.feed("error: {\"code\":500,\"message\":\"the model crashed\",\"type\":\"server_error\"}\n\n"
                     "data: [DONE]\n\n") == 2);
  REQUIRE(decoder.answer().error);
  CHECK(*decoder.answer().error == "the model crashed (code 500)");
  CHECK(decoder.answer().done);
  CHECK(decoder.answer().content.empty());
  CHECK_FALSE(decoder.answer().malformed);
}

TEST_CASE("an error event in plain words is still an error") {
  StreamDecoder decoder;
  decoder.feed("event: error\ndata: upstream\ndata: timed out\n\n");
  REQUIRE(decoder.answer().error);
  CHECK(*decoder.answer().error == "upstream timed out");
  CHECK_FALSE(decoder.answer().malformed);
}

TEST_CASE("only the choice with index 0 is read; a missing index counts as 0") {
  StreamDecoder decoder;
  decoder.feed("data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"second \"},\"finish_reason\":null}]}\n\n");
  CHECK(decoder.answer().content.empty());
  decoder.feed(
      "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"two\"},\"finish_reason\":null},"
      "{\"index\":0,\"delta\":{\"content\":\"one\"},\"finish_reason\":null}]}\n\n");
  decoder.feed("data: {\"choices\":[{\"delta\":{\"content\":\" more\"},\"finish_reason\":null}]}\n\n");
  decoder.feed("data: {\"choices\":[{\"index\":1,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n");
  decoder.feed("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
  CHECK(decoder.answer().content == "one more");
  CHECK(decoder.answer().finish_reason == "stop");
  CHECK(decoder.streamed_chars() == 8);

  const auto whole = decode_completion_body(
      R"({"choices":[{"index":1,"message":{"content":"B"},"finish_reason":"length"},)"
      R"({"index":0,"message":{"content":"A"},"finish_reason":"stop"}]})");
  CHECK(whole.content == "A");
  CHECK(whole.finish_reason == "stop");
  CHECK(decode_completion_body(R"({"choices":[{"message":{"content":"C"},"finish_reason":"stop"}]})").content == "C");
  // A body whose only choice is another index holds no answer.
  CHECK(decode_completion_body(R"({"choices":[{"index":1,"message":{"content":"B"},"finish_reason":"stop"}]})")
            .malformed);
}

TEST_CASE("reasoning deltas count as streamed characters") {
  StreamDecoder decoder;
  CHECK(decoder.feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"Let me\"}}]}\n\n"
                     "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\" think\"}}]}\n\n") == 2);
  CHECK(decoder.streamed_chars() == 12);
  CHECK(decoder.answer().content.empty());
}

TEST_CASE("OpenRouter's wrapped upstream error names the provider and what it said, on one line") {
  const auto wrapped = nlohmann::json::parse(
      R"({"error":{"message":"Provider returned error","code":400,"metadata":{"raw":"{\n  \"error\": {\n    \"message\": \"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.\",\n    \"type\": null,\n    \"param\": \"prompt\",\n    \"code\": \"content_filter\"\n  }\n}","provider_name":"Azure"}},"user_id":"user_2x"})");
  CHECK(provider_error_message(wrapped) ==
        "Provider returned error (code 400) [Azure: The response was filtered due to the prompt triggering Azure "
        "OpenAI's content management policy. (code content_filter)]");
  // Raw text that is not JSON is quoted as it is, on one line and shortened.
  nlohmann::json plain = {{"error",
                           {{"message", "Provider returned error"},
                            {"code", 429},
                            {"metadata", {{"raw", "rate-limited\nupstream " + std::string(600, 'x')},
                                          {"provider_name", "BaseTen"}}}}}};
  const std::string said = provider_error_message(plain);
  CHECK(said.rfind("Provider returned error (code 429) [BaseTen: rate-limited upstream xxx", 0) == 0);
  CHECK(said.find('\n') == std::string::npos);
  CHECK(said.size() < 400);
  CHECK(said.ends_with("...]"));
  // A raw object and a missing provider name.
  CHECK(provider_error_message(nlohmann::json::parse(
            R"({"error":{"message":"Provider returned error","code":502,"metadata":{"raw":{"error_message":"x"}}}})")) ==
        R"(Provider returned error (code 502) [{"error_message":"x"}])");
}

TEST_CASE("the numeric code of an error object is read as a status when it is one") {
  CHECK(provider_error_status(nlohmann::json::parse(
            R"({"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":9000,"n_ctx":4096}})")) ==
        400);
  CHECK(provider_error_status(nlohmann::json::parse(R"({"code":503,"message":"x"})")) == 503);
  CHECK(provider_error_status(nlohmann::json::parse(R"({"error":{"code":"context_length_exceeded"}})")) == 0);
  CHECK(provider_error_status(nlohmann::json::parse(R"({"error":{"code":70000}})")) == 0);
  CHECK(provider_error_status(nlohmann::json::parse(R"({"error":"plain"})")) == 0);
}

TEST_CASE("one_line collapses whitespace and cuts on a UTF-8 boundary") {
  CHECK(one_line("  a\n\n b\t c  ", 100) == "a b c");
  CHECK(one_line("abcdef", 3) == "abc...");
  // "é" is two bytes; a cut inside it moves back before it.
  CHECK(one_line("ab\xC3\xA9z", 3) == "ab...");
  CHECK(one_line("", 5).empty());
}

TEST_CASE("empty chunks are no progress; reasoning is progress but never part of the answer") {
  StreamDecoder decoder;
  // OpenRouter's first chunk while the model thinks: a role and empty content.
  CHECK(decoder.feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n") == 0);
  CHECK(decoder.feed(": OPENROUTER PROCESSING\n\n") == 0);
  CHECK(decoder.feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\",\"reasoning\":\"Weighing \"}}]}\n\n") == 1);
  CHECK(decoder.feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"options.\"}}]}\n\n") == 1);
  CHECK(decoder.feed(chunk("{}") + chunk("", "stop")) == 2);
  decoder.finish();
  CHECK(decoder.answer().content == "{}");
  CHECK(decoder.answer().reasoning == "Weighing options.");
}

TEST_CASE("a whole answer's reasoning is kept apart from its content") {
  const auto answer = decode_completion_body(
      R"({"choices":[{"index":0,"message":{"role":"assistant","content":"42","reasoning_content":"Six times seven."},"finish_reason":"stop"}]})");
  CHECK(answer.content == "42");
  CHECK(answer.reasoning == "Six times seven.");
}

#include <doctest/doctest.h>

#include <string>

#include "tests/fake_server/prompt_cache.hpp"

using namespace pipeline::testing;

namespace {

// A chat body with a schema, a system message, a shared user message of
// `shared_chars` characters and a short last user message; with `breakpoint`,
// the shared user message is a content block marked cache_control.
nlohmann::json body(std::size_t shared_chars, const std::string& last, bool breakpoint = false) {
  nlohmann::json shared = std::string(shared_chars, 's');
  if (breakpoint) {
    nlohmann::json block = {{"type", "text"}, {"text", shared}, {"cache_control", {{"type", "ephemeral"}}}};
    shared = nlohmann::json::array({block});
  }
  nlohmann::json request = nlohmann::json::object();
  request["response_format"]["type"] = "json_schema";
  request["response_format"]["json_schema"]["name"] = "card";
  request["response_format"]["json_schema"]["schema"]["type"] = "object";
  request["messages"] = nlohmann::json::array();
  request["messages"].push_back({{"role", "system"}, {"content", "Write the card."}});
  request["messages"].push_back({{"role", "user"}, {"content", shared}});
  request["messages"].push_back({{"role", "user"}, {"content", last}});
  return request;
}

}  // namespace

TEST_CASE("a prompt stream reads the schema first, then each message's text, and marks breakpoints") {
  const auto stream = prompt_stream(body(40, "the convenience card", true));
  CHECK(stream.text.find("{\"type\":\"object\"}") == 0);
  CHECK(stream.text.find("Write the card.") < stream.text.find(std::string(40, 's')));
  REQUIRE(stream.breakpoints.size() == 1);
  CHECK(stream.text.substr(0, stream.breakpoints[0]).ends_with(std::string(40, 's')));
  CHECK(stream.text.ends_with("the convenience card"));
  CHECK(content_text(nlohmann::json::array({{{"type", "text"}, {"text", "a"}}, {{"type", "text"}, {"text", "b"}}})) == "ab");
}

TEST_CASE("OpenAI rules: a completed request's prefix is read from 1,024 tokens on, in steps of 128") {
  PromptCache cache;
  cache.set_rules(CacheRules::openai);
  const auto first = prompt_stream(body(6000, "the better_for_you card"));
  // Nothing has completed yet: a request in flight serves no hit.
  CHECK(cache.lookup(first).read_tokens == 0);
  cache.complete(first);
  const auto second = prompt_stream(body(6000, "the convenience card"));
  const auto outcome = cache.lookup(second);
  CHECK(outcome.read_tokens > 1024);
  CHECK(outcome.read_tokens % 128 == 0);
  CHECK(outcome.read_tokens <= second.tokens());
  // The hit ends before the first character that differs.
  const auto common = second.text.find("convenience") / 4;
  CHECK(outcome.read_tokens <= static_cast<std::int64_t>(common));
  CHECK(outcome.read_tokens > static_cast<std::int64_t>(common) - 128);
  CHECK(outcome.write_tokens == 0);

  // A shared prefix under 1,024 tokens is never a hit.
  PromptCache small;
  small.set_rules(CacheRules::openai);
  small.complete(prompt_stream(body(3000, "a")));
  CHECK(small.lookup(prompt_stream(body(3000, "b"))).read_tokens == 0);
}

TEST_CASE("Anthropic rules: only a breakpoint's prefix is cached, written first, read by later requests") {
  PromptCache cache;
  cache.set_rules(CacheRules::anthropic);
  // Without breakpoints nothing is cached, however much is shared.
  cache.complete(prompt_stream(body(8000, "a")));
  CHECK(cache.lookup(prompt_stream(body(8000, "b"))).read_tokens == 0);

  const auto first = prompt_stream(body(8000, "the better_for_you card", true));
  const auto written = cache.lookup(first);
  CHECK(written.read_tokens == 0);
  CHECK(written.write_tokens == static_cast<std::int64_t>(first.breakpoints[0] / 4));
  cache.complete(first);
  const auto second = prompt_stream(body(8000, "the convenience card", true));
  const auto read = cache.lookup(second);
  CHECK(read.read_tokens == static_cast<std::int64_t>(second.breakpoints[0] / 4));
  CHECK(read.write_tokens == 0);
  // Another shared part is a miss, and written.
  const auto other = prompt_stream(body(7000, "the convenience card", true));
  CHECK(cache.lookup(other).read_tokens == 0);
  CHECK(cache.lookup(other).write_tokens > 0);
}

TEST_CASE("no rules: nothing is cached") {
  PromptCache cache;
  cache.complete(prompt_stream(body(8000, "a", true)));
  const auto outcome = cache.lookup(prompt_stream(body(8000, "b", true)));
  CHECK(outcome.read_tokens == 0);
  CHECK(outcome.write_tokens == 0);
  CHECK(parse_cache_rules("openai") == CacheRules::openai);
  CHECK_FALSE(parse_cache_rules("gemini"));
}

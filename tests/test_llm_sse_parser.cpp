#include <doctest/doctest.h>

#include "lib/llm/sse_parser.hpp"

using pipeline::llm::SseEvent;
using pipeline::llm::SseParser;

namespace {

std::vector<SseEvent> feed_all(SseParser& parser, const std::string& text, std::size_t piece) {
  std::vector<SseEvent> events;
  for (std::size_t at = 0; at < text.size(); at += piece) {
    for (auto& event : parser.feed(std::string_view(text).substr(at, piece))) events.push_back(event);
  }
  for (auto& event : parser.finish()) events.push_back(event);
  return events;
}

}  // namespace

TEST_CASE("events come out whole whatever the size of the pieces fed in") {
  const std::string stream =
      "data: {\"a\":1}\n\n"
      ": OPENROUTER PROCESSING\n\n"
      "data: {\"b\":2}\r\n\r\n"
      "data: [DONE]\n\n";
  for (std::size_t piece : {1, 2, 3, 7, 1000}) {
    SseParser parser;
    const auto events = feed_all(parser, stream, piece);
    REQUIRE(events.size() == 3);
    CHECK(events[0].data == "{\"a\":1}");
    CHECK(events[1].data == "{\"b\":2}");
    CHECK(events[2].is_done());
    CHECK_FALSE(events[0].is_done());
  }
}

TEST_CASE("comment lines give no event and do not interrupt an event in progress") {
  SseParser parser;
  const auto events = feed_all(parser, ": keep-alive\ndata: one\n: another\ndata: two\n\n:\n\n", 5);
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "one\ntwo");
}

TEST_CASE("multi-line data is joined with newlines and the event name is kept") {
  SseParser parser;
  const auto events = feed_all(parser, "event: error\ndata: {\"error\":\ndata:  {\"message\":\"x\"}}\n\n", 4);
  REQUIRE(events.size() == 1);
  CHECK(events[0].event == "error");
  // Only the single space after the colon is dropped.
  CHECK(events[0].data == "{\"error\":\n {\"message\":\"x\"}}");
}

TEST_CASE("an event without its closing blank line is delivered by finish") {
  SseParser parser;
  CHECK(parser.feed("data: last").empty());
  const auto events = parser.finish();
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "last");
}

TEST_CASE("blank lines alone and unknown fields give no event") {
  SseParser parser;
  CHECK(feed_all(parser, "\n\nid: 7\nretry: 100\n\n", 3).empty());
}

TEST_CASE("an `error:` field, as older llama.cpp servers send, is an event named error") {
  const std::string stream =
      "error: {\"code\":500,\"message\":\"llama_decode failed\",\"type\":\"server_error\"}\n\n"
      "data: [DONE]\n\n";
  for (std::size_t piece : {1, 5, 1000}) {
    SseParser parser;
    const auto events = feed_all(parser, stream, piece);
    REQUIRE(events.size() == 2);
    CHECK(events[0].event == "error");
    CHECK(events[0].data == "{\"code\":500,\"message\":\"llama_decode failed\",\"type\":\"server_error\"}");
    CHECK(events[1].event.empty());
    CHECK(events[1].is_done());
  }
}

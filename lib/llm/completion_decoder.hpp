#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lib/llm/sse_parser.hpp"

namespace pipeline::llm {

// What one HTTP answer of a chat completion said, streamed or not.
struct DecodedAnswer {
  std::string content;
  std::string finish_reason;
  std::string model;
  nlohmann::json usage;              // the provider's usage object, null when none came
  std::optional<std::string> error;  // an error the provider reported inside a 200 answer
  bool done = false;                 // "data: [DONE]" arrived
  bool malformed = false;            // a chunk or body that is not the expected JSON
};

// The message of a provider error object, in either shape: {"error": {"message": ...}}
// or {"error": "text"}; also accepts the inner object itself. Empty when none.
std::string provider_error_message(const nlohmann::json& json);

// Decodes a streamed answer as its bytes arrive. Errors that arrive inside the
// stream (OpenAI's {"error": ...} event, OpenRouter's chunk with "error" and
// finish_reason "error") are recorded as errors, never as a short answer.
class StreamDecoder {
 public:
  // Takes the next bytes; returns how many data events (content events, as
  // opposed to keep-alive comments) they completed.
  int feed(std::string_view bytes);
  // Takes an event left open when the stream ended.
  void finish();
  const DecodedAnswer& answer() const { return m_answer; }
  // Characters of content and reasoning streamed so far, for progress estimates.
  std::int64_t streamed_chars() const { return m_streamed_chars; }

 private:
  void take(const SseEvent& event);

  SseParser m_parser;
  DecodedAnswer m_answer;
  std::int64_t m_streamed_chars = 0;
};

// Decodes a whole (non-streamed) chat completion body.
DecodedAnswer decode_completion_body(std::string_view body);

}  // namespace pipeline::llm

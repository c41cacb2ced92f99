#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lib/llm/sse_parser.hpp"

namespace pipeline::llm {

// What one HTTP answer of a chat completion said, streamed or not. Only the
// choice with index 0 (or without an index) is read.
struct DecodedAnswer {
  std::string content;
  // What a reasoning model thought before answering, where the provider sends
  // it (delta.reasoning, delta.reasoning_content); never part of `content`.
  std::string reasoning;
  std::optional<std::string> refusal;  // the model declined (delta.refusal / message.refusal), never empty
  std::string finish_reason;           // "length" stays, even when an error chunk follows it
  std::string model;
  nlohmann::json usage;              // the provider's usage object, null when none came
  std::optional<std::string> error;  // an error the provider reported inside a 200 answer
  bool done = false;                 // "data: [DONE]" arrived
  bool malformed = false;            // a chunk or body that is not the expected JSON
};

// The message of a provider error object, in either shape: {"error": {"message": ...}}
// or {"error": "text"}; also accepts the inner object itself. A numeric or
// string `code` is added, and so are an upstream provider's own words and name
// from OpenRouter's metadata (`raw`, `provider_name`), on one line. Empty when none.
std::string provider_error_message(const nlohmann::json& json);

// The numeric `code` of a provider error object (either shape) when it is an
// HTTP status, 100 to 599, as llama.cpp's {"code": 400} inside an HTTP 500; else 0.
int provider_error_status(const nlohmann::json& json);

// `text` on one line: runs of whitespace become one space, and text longer
// than `max_bytes` is cut on a UTF-8 boundary and ends in "...".
std::string one_line(std::string_view text, std::size_t max_bytes);

// Decodes a streamed answer as its bytes arrive. Errors that arrive inside the
// stream (OpenAI's {"error": ...} event, OpenRouter's chunk with "error" and
// finish_reason "error", llama.cpp's `error:` line) are recorded as errors,
// never as a short answer.
class StreamDecoder {
 public:
  // Takes the next bytes; returns how many progress events they completed:
  // events that carry content, reasoning, a refusal, a finish reason, usage,
  // an error or [DONE]. Keep-alive comments (": OPENROUTER PROCESSING") and
  // empty chunks (a role alone, empty content) are no progress.
  int feed(std::string_view bytes);
  // Takes an event left open when the stream ended.
  void finish();
  const DecodedAnswer& answer() const { return m_answer; }
  // Characters of content, refusal and reasoning streamed so far, for progress estimates.
  std::int64_t streamed_chars() const { return m_streamed_chars; }

 private:
  // Whether the event was progress (see feed).
  bool take(const SseEvent& event);

  SseParser m_parser;
  DecodedAnswer m_answer;
  std::int64_t m_streamed_chars = 0;
};

// Decodes a whole (non-streamed) chat completion body.
DecodedAnswer decode_completion_body(std::string_view body);

}  // namespace pipeline::llm

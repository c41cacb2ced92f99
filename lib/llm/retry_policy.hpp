#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace pipeline::llm {

// Whether an HTTP status is worth another attempt: 408, 429, 500, 502, 503,
// 504, and 402 only when the provider gave a Retry-After. 400, 401, 403, 404,
// other 4xx and the other 5xx (501 Not Implemented, 505 HTTP Version Not
// Supported) need a person instead.
bool is_retryable_status(int status, bool has_retry_after);

// Seconds to wait that a Retry-After header asks for: a number of seconds or
// an HTTP date (relative to `now`) in any of the three forms HTTP allows:
// IMF-fixdate, RFC 850 and asctime. nullopt when the value is neither.
std::optional<double> parse_retry_after(std::string_view value, std::time_t now);

// The wait before retry number `retry` (1 for the first retry): exponential
// backoff with full jitter, uniform in [0, min(max, base * 2^(retry-1))].
// A Retry-After takes precedence, capped at `max_retry_after_s`.
struct RetryPolicy {
  double base_s = 1;
  double max_s = 30;
  double max_retry_after_s = 120;

  double wait_before_retry(int retry, std::optional<double> retry_after_s) const;
};

// Whether a provider's error message says that the request (prompt plus
// max_tokens) does not fit the model's context window, in the words of OpenAI,
// OpenRouter, vLLM, llama.cpp, Anthropic or Gemini. Another attempt gets the same answer.
bool is_context_length_error(std::string_view provider_message);

// What a person should do about a context-length error: smaller input chunks
// or fewer answer tokens (never --structured-output).
std::string context_length_advice(const std::string& provider_message);

// What a person should do about an HTTP error that is not retried; never
// contains the key itself.
std::string provider_error_advice(int status, const std::string& provider_message, const std::string& key_source,
                                  const std::string& model, const std::string& base_url);

}  // namespace pipeline::llm

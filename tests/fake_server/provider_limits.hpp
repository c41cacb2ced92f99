#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace httplib {
struct Response;
}

namespace pipeline::testing {

// A provider's rate limits as the fake server plays them: requests and
// tokens per sliding window (a minute), counted across every connection.
// 0 leaves a limit out.
struct ProviderLimitSettings {
  int requests_per_minute = 0;
  std::int64_t tokens_per_minute = 0;
  std::chrono::milliseconds window{60000};
};

// What the provider says to one request: whether it is taken, and the
// headers of its answer (OpenAI's x-ratelimit-* on every answer, and
// Retry-After on a refusal).
struct LimitVerdict {
  bool admitted = true;
  std::chrono::milliseconds retry_after{0};  // a refusal: when this request would fit
  std::vector<std::pair<std::string, std::string>> headers;
};

// Counts requests and tokens over a sliding window, as a provider's account
// does: a request is taken when one more request and its tokens fit in what
// the last window's taken requests left; a refused request uses nothing.
// Thread-safe.
class ProviderLimits {
 public:
  explicit ProviderLimits(ProviderLimitSettings settings);

  // Takes or refuses a request that would use `tokens` at `now`.
  LimitVerdict admit(std::int64_t tokens, std::chrono::steady_clock::time_point now);

  int admitted() const;
  int refused() const;
  // When each admitted request was taken and the tokens it was charged, oldest first.
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::int64_t>> admissions() const;
  const ProviderLimitSettings& settings() const { return m_settings; }

 private:
  struct Taken {
    std::chrono::steady_clock::time_point at;
    std::int64_t tokens = 0;
  };
  void forget_before(std::chrono::steady_clock::time_point now);

  ProviderLimitSettings m_settings;
  mutable std::mutex m_mutex;
  std::deque<Taken> m_taken;
  std::int64_t m_tokens_in_window = 0;
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::int64_t>> m_admissions;
  int m_admitted = 0;
  int m_refused = 0;
};

// Sets the x-ratelimit-* headers of `verdict` on an answer and, for a
// refusal, makes it OpenAI's 429 (code rate_limit_exceeded, Retry-After).
// False when the request was refused and `response` is complete.
bool answer_within_limits(ProviderLimits* limits, const nlohmann::json& body, httplib::Response& response);

// A duration the way OpenAI writes x-ratelimit-reset-*: "12ms", "1s",
// "1.5s", "6m0s", "1h2m3.5s".
std::string openai_reset_text(std::chrono::milliseconds duration);

// The tokens a provider charges a request when it takes it, as OpenAI
// counts a request against its limit before answering: its prompt tokens (as
// fake_usage counts them) and its max_tokens or max_completion_tokens.
std::int64_t charged_tokens(const nlohmann::json& body);

}  // namespace pipeline::testing

#pragma once

// The budget a provider account allows (requests and tokens per minute), as
// one small interface with two implementations: LocalRateLimiter here, held
// within one process, and queue::RedisRateLimiter, shared by every process
// that uses the same Redis store. The chat client sees only RateLimiter.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/util/cancel.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::llm {

// Whose budget a request draws on: one provider account's limits for one
// model. The API key appears only as a fingerprint (rate_key_fingerprint).
struct RateScope {
  std::string host;             // the provider's host, e.g. api.openai.com
  std::string model;            // as asked, e.g. gpt-4o-mini
  std::string key_fingerprint;  // rate_key_fingerprint(key)
  bool operator<(const RateScope& other) const;
  // "host|model|fingerprint", for keys and messages.
  std::string text() const;
};

// 16 hex digits of the SHA-256 of "pipeline rate limit\n" and the key: tells
// keys apart, and cannot give the key back.
std::string rate_key_fingerprint(std::string_view api_key);

// The scope of requests to `base_url` for `model` with `api_key`.
RateScope rate_scope(const std::string& base_url, const std::string& model, std::string_view api_key);

// Requests and tokens per window (a minute unless the limiter says
// otherwise); 0 leaves a limit out.
struct RateLimits {
  int requests_per_minute = 0;
  std::int64_t tokens_per_minute = 0;
  bool any() const { return requests_per_minute > 0 || tokens_per_minute > 0; }
};

// The limits to hold: each configured one, or the provider's (learned from
// its headers) when that is lower or none is configured.
RateLimits effective_limits(const RateLimits& configured, const RateLimits& learned);

// What a provider said of its limits in OpenAI's x-ratelimit-* headers
// (also sent by Groq, Together, OpenRouter's OpenAI endpoints and others).
struct ProviderRateHeaders {
  std::optional<std::int64_t> limit_requests;
  std::optional<std::int64_t> limit_tokens;
  std::optional<std::int64_t> remaining_requests;
  std::optional<std::int64_t> remaining_tokens;
  std::optional<std::chrono::milliseconds> reset_requests;
  std::optional<std::chrono::milliseconds> reset_tokens;
  bool any() const;
  // What the headers teach of the limits: 0 where they said nothing.
  RateLimits limits() const;
};

// Reads the x-ratelimit-* headers among `headers` (lowercase names, values
// trimmed); others are ignored, and so is a value that does not parse.
ProviderRateHeaders parse_rate_headers(const std::vector<std::pair<std::string, std::string>>& headers);

// A reset duration as OpenAI writes it ("20ms", "1s", "1.5s", "6m0s",
// "1h2m3.5s") or a plain number of seconds; nullopt when it is neither.
std::optional<std::chrono::milliseconds> parse_reset_duration(std::string_view text);

// How urgent a request is: the job's priority (0 high, 1 normal, 2 low).
// Waiting requests are served most urgent first, then first come first served.
inline constexpr int k_rate_priority_high = 0;
inline constexpr int k_rate_priority_normal = 1;
inline constexpr int k_rate_priority_low = 2;

// One request that asks for a turn.
struct RateRequest {
  RateScope scope;
  RateLimits limits;         // configured (--rpm/--tpm, or the stage's)
  std::int64_t tokens = 0;   // estimated prompt tokens plus max_tokens
  int priority = k_rate_priority_normal;
};

// A granted turn, for settle.
struct RateTicket {
  std::string grant;
  std::int64_t tokens = 0;
};

// How a limiter's window and its safety margin are set.
struct RateWindow {
  // The length of "a minute": 60 s, shorter only in tests and benches
  // (PIPELINE_RATE_WINDOW), where the fake provider's window is shorter too.
  std::chrono::milliseconds window{60000};
  // A grant is counted this much longer than the window, so that the
  // provider, which sees the request a little after the grant, has let it go
  // too before its place is given again.
  std::chrono::milliseconds margin() const;
};

// A budget shared by every request that goes through it. Requests wait in
// order of priority, then of arrival: a request is granted only when it
// fits together with every more urgent or earlier request still waiting, so
// a huge low- or normal-priority batch cannot starve an urgent run. A pause
// (a provider's Retry-After) holds every request of the scope.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Waits until the request fits; nullopt when `cancel` stopped the wait.
  virtual util::Expected<std::optional<RateTicket>> acquire(const RateRequest& request,
                                                            const util::CancelToken& cancel) = 0;
  // Charges a granted request what it turned out to use instead of its estimate.
  virtual void settle(const RateScope& scope, const RateTicket& ticket, std::int64_t used_tokens) = 0;
  // Takes what the provider's headers say of its limits.
  virtual void learn(const RateScope& scope, const ProviderRateHeaders& headers) = 0;
  // No request of the scope starts before `duration` from now (a 429's
  // Retry-After); a longer pause already set is kept.
  virtual void pause(const RateScope& scope, std::chrono::milliseconds duration) = 0;
};

// The limiter of one process: a sliding-window log per scope, in memory.
// Thread-safe.
class LocalRateLimiter final : public RateLimiter {
 public:
  explicit LocalRateLimiter(RateWindow window = {});
  util::Expected<std::optional<RateTicket>> acquire(const RateRequest& request,
                                                    const util::CancelToken& cancel) override;
  void settle(const RateScope& scope, const RateTicket& ticket, std::int64_t used_tokens) override;
  void learn(const RateScope& scope, const ProviderRateHeaders& headers) override;
  void pause(const RateScope& scope, std::chrono::milliseconds duration) override;

  // Requests granted in the current window of `scope`, for tests.
  int granted_in_window(const RateScope& scope);

 private:
  using Clock = std::chrono::steady_clock;
  struct Granted {
    Clock::time_point at;
    std::uint64_t id = 0;
    std::int64_t tokens = 0;
  };
  struct Waiter {
    std::int64_t tokens = 0;
  };
  struct Budget {
    std::deque<Granted> granted;
    // Waiting requests by (priority, arrival).
    std::map<std::pair<int, std::uint64_t>, Waiter> waiting;
    RateLimits learned;
    Clock::time_point paused_until{};
  };
  // How long until `tokens` fit behind the waiters before `place`; 0: now.
  Clock::duration wait_for(Budget& budget, const RateLimits& limits, std::int64_t tokens,
                           std::pair<int, std::uint64_t> place, Clock::time_point now);

  RateWindow m_window;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::map<RateScope, Budget> m_budgets;
  std::uint64_t m_next_id = 1;
};

}  // namespace pipeline::llm

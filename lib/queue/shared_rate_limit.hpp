#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/redis/redis_connection.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::queue {

// Whose budget a request draws on: one provider account's limits for one
// model. The API key appears only as a fingerprint (api_key_fingerprint).
struct RateLimitKey {
  std::string host;             // the provider's host, e.g. api.openai.com
  std::string model;            // as asked, e.g. gpt-4o-mini
  std::string key_fingerprint;  // api_key_fingerprint(key)

  // <prefix>limit:<host>|<model>|<fingerprint>, the stem of the limiter's keys.
  std::string stem(const std::string& prefix) const;
};

// 16 hex digits of the SHA-256 of "pipeline rate limit\n" and the key:
// tells keys apart, and cannot give the key back.
std::string api_key_fingerprint(std::string_view api_key);

// Requests and tokens per sliding minute; 0 leaves a limit out.
struct RateBudget {
  int requests_per_minute = 0;
  std::int64_t tokens_per_minute = 0;
  std::chrono::milliseconds window{60000};
};

// The answer to one try: granted (under `grant`, for settle), or how long
// until the request could fit (a pause included).
struct RateGrant {
  bool granted = false;
  std::string grant;
  std::chrono::milliseconds wait{0};
};

// One budget shared by every process that uses the same Redis: a sliding
// window log of the requests granted in the last minute, with the tokens
// each was charged, checked and added to in one Lua script per try, on the
// server's clock. Keys: <stem>:requests (sorted set: grant -> ms),
// <stem>:tokens (hash: grant -> tokens), <stem>:pause (set with a TTL by
// pause_for). All three expire a window after their last use. Not
// thread-safe: one connection, one user.
class SharedRateLimit {
 public:
  SharedRateLimit(redis::ConnectOptions connect, std::string prefix, RateLimitKey key, RateBudget budget);

  // Grants a request of `tokens` (its estimated prompt and max_tokens) when
  // it fits in what the last window's grants left and no pause holds; else
  // says how long to wait. A request larger than the whole token budget is
  // granted alone, once the window is empty.
  util::Expected<RateGrant> try_acquire(std::int64_t tokens);
  // Waits (in steps no longer than the wait said) until granted; nullopt
  // when `cancel` stopped the wait.
  util::Expected<std::optional<RateGrant>> acquire(std::int64_t tokens, const util::CancelToken& cancel);
  // Charges a granted request what its answer's usage says it used instead
  // of its estimate; nothing when the grant has left the window.
  util::Expected<void> settle(const std::string& grant, std::int64_t used_tokens);
  // No request of this budget is granted before `duration` from now (a
  // provider's Retry-After); a longer pause already set is kept.
  util::Expected<void> pause_for(std::chrono::milliseconds duration);

  const std::string& stem() const { return m_stem; }

 private:
  redis::Connection m_connection;
  std::string m_stem;
  RateBudget m_budget;
};

}  // namespace pipeline::queue

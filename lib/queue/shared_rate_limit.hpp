#pragma once

#include <chrono>
#include <map>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/llm/rate_limiter.hpp"
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

  // <prefix>{limit:<host>|<model>|<fingerprint>}, the stem of the limiter's
  // keys: one hash tag, so that every script touches one cluster slot.
  std::string stem(const std::string& prefix) const;
};

// 16 hex digits of the SHA-256 of "pipeline rate limit\n" and the key:
// tells keys apart, and cannot give the key back (llm::rate_key_fingerprint).
std::string api_key_fingerprint(std::string_view api_key);

// Requests and tokens per sliding window (a minute); 0 leaves a limit out.
struct RateBudget {
  int requests_per_minute = 0;
  std::int64_t tokens_per_minute = 0;
  std::chrono::milliseconds window{60000};
  // How much longer than the window a grant is counted (llm::RateWindow::margin).
  std::chrono::milliseconds margin{0};
};

// The answer to one try: granted (under `grant`, for settle), or how long
// until the request could fit (a pause included).
struct RateGrant {
  bool granted = false;
  std::string grant;
  std::chrono::milliseconds wait{0};
};

// One budget shared by every process that uses the same Redis: a sliding
// window log of the requests granted in the last window, with the tokens
// each was charged, checked and added to in one Lua script per try, on the
// server's clock. Keys, all under the stem's hash tag: :requests (sorted
// set: grant -> ms), :tokens (hash: grant -> tokens), :pause (set with a TTL
// by pause_for), :waiting (sorted set: waiter -> priority and arrival),
// :need and :seen (hashes: waiter -> tokens, last try), :info (hash: host,
// model, fingerprint, configured and learned limits, counters). They expire
// two windows after their last use. A try is granted only when the request
// fits together with every waiter ahead of it (more urgent, or as urgent and
// earlier); a waiter not seen for k_rate_waiter_stale is dropped. Not
// thread-safe: one connection, one user.
class SharedRateLimit {
 public:
  SharedRateLimit(redis::ConnectOptions connect, std::string prefix, RateLimitKey key, RateBudget budget);

  // Grants a request of `tokens` (its estimated prompt and max_tokens) when
  // it fits in what the last window's grants and the waiters ahead left and
  // no pause holds; else says how long to wait. A request larger than the
  // whole token budget is granted alone, once the window is empty. With
  // `waiter`, a refused try queues the request under that id at `priority`
  // (llm::k_rate_priority_*) until it is granted or leave() is called.
  util::Expected<RateGrant> try_acquire(std::int64_t tokens, const std::string& waiter = "",
                                        int priority = llm::k_rate_priority_normal);
  // Waits (in steps no longer than a second) until granted; nullopt when
  // `cancel` stopped the wait.
  util::Expected<std::optional<RateGrant>> acquire(std::int64_t tokens, const util::CancelToken& cancel,
                                                   int priority = llm::k_rate_priority_normal);
  // Takes a waiter out of the queue (its wait was cancelled).
  util::Expected<void> leave(const std::string& waiter);
  // Charges a granted request what its answer's usage says it used instead
  // of its estimate; nothing when the grant has left the window.
  util::Expected<void> settle(const std::string& grant, std::int64_t used_tokens);
  // No request of this budget is granted before `duration` from now (a
  // provider's Retry-After); a longer pause already set is kept.
  util::Expected<void> pause_for(std::chrono::milliseconds duration);
  // Keeps the provider's limits, as its headers said them; 0 leaves one as it was.
  util::Expected<void> learn(const llm::RateLimits& limits);

  const std::string& stem() const { return m_stem; }
  void set_limits(int requests_per_minute, std::int64_t tokens_per_minute);

 private:
  redis::Connection m_connection;
  std::string m_stem;
  RateLimitKey m_key;
  RateBudget m_budget;
};

// What `pipeline queue` shows of one limiter.
struct RateLimitStatus {
  std::string host;
  std::string model;
  std::string key_fingerprint;
  llm::RateLimits configured;
  llm::RateLimits learned;
  std::int64_t window_ms = 0;
  int requests_in_window = 0;
  std::int64_t tokens_in_window = 0;
  int waiting = 0;
  std::int64_t paused_ms = 0;      // left of the current pause
  std::int64_t granted = 0;        // in all, since the limiter's keys were made
  std::int64_t pauses = 0;         // 429 pauses in all
  std::int64_t paused_ms_total = 0;
};

// Every limiter under `prefix` in the Redis `connection` reaches.
util::Expected<std::vector<RateLimitStatus>> rate_limit_statuses(redis::Connection& connection,
                                                                 const std::string& prefix);

// llm::RateLimiter in Redis: one SharedRateLimit's scripts per scope, on one
// connection guarded by a mutex (every call is one script; waits sleep
// outside the lock). Thread-safe.
class RedisRateLimiter final : public llm::RateLimiter {
 public:
  RedisRateLimiter(redis::ConnectOptions connect, std::string prefix, llm::RateWindow window = {});
  util::Expected<std::optional<llm::RateTicket>> acquire(const llm::RateRequest& request,
                                                         const util::CancelToken& cancel) override;
  void settle(const llm::RateScope& scope, const llm::RateTicket& ticket, std::int64_t used_tokens) override;
  void learn(const llm::RateScope& scope, const llm::ProviderRateHeaders& headers) override;
  void pause(const llm::RateScope& scope, std::chrono::milliseconds duration) override;

 private:
  // The scope's limiter; `limits`, when given, are the configured ones of the next try.
  SharedRateLimit& limit_of(const llm::RateScope& scope, const llm::RateLimits* limits);

  redis::ConnectOptions m_connect;
  std::string m_prefix;
  llm::RateWindow m_window;
  std::mutex m_mutex;
  std::vector<std::pair<llm::RateScope, std::unique_ptr<SharedRateLimit>>> m_limits;
  std::map<std::string, llm::RateLimits> m_learned;  // by scope text: what this process last sent
};

}  // namespace pipeline::queue

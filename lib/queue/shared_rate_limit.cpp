#include "lib/queue/shared_rate_limit.hpp"

#include <algorithm>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "lib/redis/redis_script.hpp"
#include "lib/util/random_hex.hpp"
#include "lib/util/sha256.hpp"

namespace pipeline::queue {
namespace {

// KEYS: requests, tokens, pause. ARGV: window ms, rpm, tpm, tokens, grant.
// {1, 0} when granted; {0, ms to wait} otherwise.
const redis::Script& acquire_script() {
  static const redis::Script script(R"lua(
local window = tonumber(ARGV[1])
local rpm = tonumber(ARGV[2])
local tpm = tonumber(ARGV[3])
local tokens = tonumber(ARGV[4])
local paused = redis.call('PTTL', KEYS[3])
if paused > 0 then return {0, paused} end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)
for _, grant in ipairs(gone) do
  redis.call('ZREM', KEYS[1], grant)
  redis.call('HDEL', KEYS[2], grant)
end
local taken = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local count = #taken / 2
local used = 0
for _, value in ipairs(redis.call('HVALS', KEYS[2])) do used = used + tonumber(value) end
local requests_fit = rpm <= 0 or count + 1 <= rpm
local tokens_fit = tpm <= 0 or used + tokens <= tpm or count == 0
if requests_fit and tokens_fit then
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('HSET', KEYS[2], ARGV[5], tokens)
  redis.call('PEXPIRE', KEYS[1], window * 2)
  redis.call('PEXPIRE', KEYS[2], window * 2)
  return {1, 0}
end
local fits = now
if not requests_fit then
  local score = tonumber(taken[(count - rpm) * 2 + 2])
  fits = math.max(fits, score + window)
end
if not tokens_fit then
  local left = used
  for i = 1, count do
    local grant = taken[i * 2 - 1]
    left = left - tonumber(redis.call('HGET', KEYS[2], grant) or 0)
    if left + tokens <= tpm or i == count then
      fits = math.max(fits, tonumber(taken[i * 2]) + window)
      break
    end
  end
end
return {0, math.max(1, fits - now)}
)lua");
  return script;
}

// KEYS: requests, tokens. ARGV: grant, tokens. Settles a grant still in the window.
const redis::Script& settle_script() {
  static const redis::Script script(R"lua(
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
)lua");
  return script;
}

// KEYS: pause. ARGV: ms. Keeps the longer of two pauses.
const redis::Script& pause_script() {
  static const redis::Script script(R"lua(
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) >= ms then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', ms)
return 1
)lua");
  return script;
}

}  // namespace

std::string RateLimitKey::stem(const std::string& prefix) const {
  return prefix + "limit:" + host + "|" + model + "|" + key_fingerprint;
}

std::string api_key_fingerprint(std::string_view api_key) {
  return util::sha256_hex("pipeline rate limit\n" + std::string(api_key)).substr(0, 16);
}

SharedRateLimit::SharedRateLimit(redis::ConnectOptions connect, std::string prefix, RateLimitKey key, RateBudget budget)
    : m_connection(std::move(connect)), m_stem(key.stem(prefix)), m_budget(budget) {}

util::Expected<RateGrant> SharedRateLimit::try_acquire(std::int64_t tokens) {
  RateGrant grant;
  grant.grant = util::random_hex(8);
  auto reply = acquire_script().run(
      m_connection, {m_stem + ":requests", m_stem + ":tokens", m_stem + ":pause"},
      {std::to_string(m_budget.window.count()), std::to_string(m_budget.requests_per_minute),
       std::to_string(m_budget.tokens_per_minute), std::to_string(std::max<std::int64_t>(0, tokens)), grant.grant});
  if (!reply) return reply.error();
  if (reply->is_error() || reply->elements.size() != 2) {
    return util::fail(util::ErrorKind::failed,
                      fmt::format("the shared rate limit {} answered oddly: {}", m_stem, reply->text));
  }
  grant.granted = reply->elements[0].integer == 1;
  grant.wait = std::chrono::milliseconds(reply->elements[1].integer);
  if (!grant.granted) grant.grant.clear();
  return grant;
}

util::Expected<std::optional<RateGrant>> SharedRateLimit::acquire(std::int64_t tokens, const util::CancelToken& cancel) {
  while (!cancel.stop_requested()) {
    auto grant = try_acquire(tokens);
    if (!grant) return grant.error();
    if (grant->granted) return std::optional<RateGrant>(std::move(*grant));
    // Others may settle or the window slide sooner; never sleep past a second unchecked.
    const auto step = std::clamp(grant->wait, std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
    const auto until = std::chrono::steady_clock::now() + step;
    while (std::chrono::steady_clock::now() < until && !cancel.stop_requested()) {
      std::this_thread::sleep_for(std::min(step, std::chrono::milliseconds(50)));
    }
  }
  return std::optional<RateGrant>();
}

util::Expected<void> SharedRateLimit::settle(const std::string& grant, std::int64_t used_tokens) {
  auto reply = settle_script().run(m_connection, {m_stem + ":requests", m_stem + ":tokens"},
                                   {grant, std::to_string(std::max<std::int64_t>(0, used_tokens))});
  if (!reply) return reply.error();
  if (reply->is_error()) return util::fail(util::ErrorKind::failed, "settling a rate limit grant: " + reply->text);
  return {};
}

util::Expected<void> SharedRateLimit::pause_for(std::chrono::milliseconds duration) {
  if (duration.count() <= 0) return {};
  auto reply = pause_script().run(m_connection, {m_stem + ":pause"}, {std::to_string(duration.count())});
  if (!reply) return reply.error();
  if (reply->is_error()) return util::fail(util::ErrorKind::failed, "pausing a rate limit: " + reply->text);
  return {};
}

}  // namespace pipeline::queue

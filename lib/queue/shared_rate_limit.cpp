#include "lib/queue/shared_rate_limit.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "lib/redis/redis_script.hpp"
#include "lib/util/log.hpp"
#include "lib/util/random_hex.hpp"

namespace pipeline::queue {
namespace {

// A waiter that has not tried for this long is taken for gone (its process
// died): waiters try at least once a second.
constexpr std::int64_t k_rate_waiter_stale_ms = 5000;
// Scores of the waiting set: the priority, then the arrival in ms.
constexpr double k_rate_priority_step = 1e13;

// KEYS: requests, tokens, pause, waiting, need, seen, info.
// ARGV: window ms, margin ms, rpm, tpm, tokens, grant/waiter id, priority,
// queue (1: a refused try waits in line), host, model, fingerprint, stale ms, priority step.
// {1, 0} when granted; {0, ms to wait} otherwise.
const redis::Script& acquire_script() {
  static const redis::Script script(R"lua(
local window = tonumber(ARGV[1])
local held = window + tonumber(ARGV[2])
local rpm = tonumber(ARGV[3])
local tpm = tonumber(ARGV[4])
local tokens = tonumber(ARGV[5])
local id = ARGV[6]
local queue = ARGV[8] == '1'
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('HSET', KEYS[7], 'host', ARGV[9], 'model', ARGV[10], 'fingerprint', ARGV[11], 'rpm', rpm, 'tpm', tpm,
           'window_ms', window)
redis.call('PEXPIRE', KEYS[7], held * 2 + 86400000)
local learned_rpm = tonumber(redis.call('HGET', KEYS[7], 'learned_rpm') or '0')
local learned_tpm = tonumber(redis.call('HGET', KEYS[7], 'learned_tpm') or '0')
local function lower(mine, theirs)
  if mine > 0 and theirs > 0 then return math.min(mine, theirs) end
  if mine > 0 then return mine end
  return theirs
end
rpm = lower(rpm, learned_rpm)
tpm = lower(tpm, learned_tpm)
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - held)) do
  redis.call('ZREM', KEYS[1], gone)
  redis.call('HDEL', KEYS[2], gone)
end
local seen = redis.call('HGETALL', KEYS[6])
for i = 1, #seen, 2 do
  if tonumber(seen[i + 1]) < now - tonumber(ARGV[12]) then
    redis.call('ZREM', KEYS[4], seen[i])
    redis.call('HDEL', KEYS[5], seen[i])
    redis.call('HDEL', KEYS[6], seen[i])
  end
end
local function wait(ms)
  if queue then
    if redis.call('ZSCORE', KEYS[4], id) == false then
      redis.call('ZADD', KEYS[4], tonumber(ARGV[7]) * tonumber(ARGV[13]) + now, id)
    end
    redis.call('HSET', KEYS[5], id, tokens)
    redis.call('HSET', KEYS[6], id, now)
    for k = 4, 6 do redis.call('PEXPIRE', KEYS[k], held * 2) end
  end
  redis.call('HINCRBY', KEYS[7], 'waits', 1)
  return {0, math.max(1, ms)}
end
local paused = redis.call('PTTL', KEYS[3])
if paused > 0 then return wait(paused) end
local score = redis.call('ZSCORE', KEYS[4], id)
if score == false then score = tonumber(ARGV[7]) * tonumber(ARGV[13]) + now else score = tonumber(score) end
local ahead_count = 0
local ahead_tokens = 0
for _, waiter in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. score)) do
  if waiter ~= id then
    ahead_count = ahead_count + 1
    ahead_tokens = ahead_tokens + tonumber(redis.call('HGET', KEYS[5], waiter) or '0')
  end
end
local taken = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local count = #taken / 2
local used = 0
for _, value in ipairs(redis.call('HVALS', KEYS[2])) do used = used + tonumber(value) end
local requests_fit = rpm <= 0 or count + ahead_count + 1 <= rpm
local tokens_fit = tpm <= 0 or used + ahead_tokens + tokens <= tpm or (count == 0 and ahead_count == 0)
if requests_fit and tokens_fit then
  redis.call('ZADD', KEYS[1], now, id)
  redis.call('HSET', KEYS[2], id, tokens)
  redis.call('PEXPIRE', KEYS[1], held * 2)
  redis.call('PEXPIRE', KEYS[2], held * 2)
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  redis.call('HDEL', KEYS[6], id)
  redis.call('HINCRBY', KEYS[7], 'granted', 1)
  return {1, 0}
end
local fits = now
if not requests_fit then
  local leave = count + ahead_count + 1 - rpm
  if leave <= count then
    fits = math.max(fits, tonumber(taken[leave * 2]) + held)
  else
    fits = math.max(fits, now + held)
  end
end
if not tokens_fit then
  local left = used + ahead_tokens
  local when = now + held
  for i = 1, count do
    left = left - tonumber(redis.call('HGET', KEYS[2], taken[i * 2 - 1]) or '0')
    if left + tokens <= tpm then
      when = tonumber(taken[i * 2]) + held
      break
    end
  end
  fits = math.max(fits, when)
end
return wait(fits - now)
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

// KEYS: waiting, need, seen. ARGV: waiter. Takes a waiter out of the line.
const redis::Script& leave_script() {
  static const redis::Script script(R"lua(
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
)lua");
  return script;
}

// KEYS: pause, info. ARGV: ms. Keeps the longer of two pauses, and counts it.
const redis::Script& pause_script() {
  static const redis::Script script(R"lua(
local ms = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left >= ms then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', ms)
redis.call('HINCRBY', KEYS[2], 'pauses', 1)
redis.call('HINCRBY', KEYS[2], 'paused_ms', ms - math.max(0, left))
return 1
)lua");
  return script;
}

// KEYS: info. ARGV: learned rpm, learned tpm (0: unchanged).
const redis::Script& learn_script() {
  static const redis::Script script(R"lua(
if tonumber(ARGV[1]) > 0 then redis.call('HSET', KEYS[1], 'learned_rpm', ARGV[1]) end
if tonumber(ARGV[2]) > 0 then redis.call('HSET', KEYS[1], 'learned_tpm', ARGV[2]) end
return 1
)lua");
  return script;
}

util::Error odd_reply(const std::string& what, const std::string& stem, const redis::Reply& reply) {
  return util::Error{util::ErrorKind::failed, fmt::format("{} {}: {}", what, stem, reply.text), ""};
}

std::int64_t field_number(const std::map<std::string, std::string>& fields, const std::string& name) {
  auto found = fields.find(name);
  if (found == fields.end()) return 0;
  try {
    return std::stoll(found->second);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

std::string RateLimitKey::stem(const std::string& prefix) const {
  // Braces would end the hash tag early: a model name never has them, but a host or model is not trusted.
  std::string tag = "limit:" + host + "|" + model + "|" + key_fingerprint;
  std::replace(tag.begin(), tag.end(), '{', '_');
  std::replace(tag.begin(), tag.end(), '}', '_');
  return prefix + "{" + tag + "}";
}

std::string api_key_fingerprint(std::string_view api_key) { return llm::rate_key_fingerprint(api_key); }

SharedRateLimit::SharedRateLimit(redis::ConnectOptions connect, std::string prefix, RateLimitKey key, RateBudget budget)
    : m_connection(std::move(connect)), m_stem(key.stem(prefix)), m_key(std::move(key)), m_budget(budget) {}

void SharedRateLimit::set_limits(int requests_per_minute, std::int64_t tokens_per_minute) {
  m_budget.requests_per_minute = requests_per_minute;
  m_budget.tokens_per_minute = tokens_per_minute;
}

util::Expected<RateGrant> SharedRateLimit::try_acquire(std::int64_t tokens, const std::string& waiter, int priority) {
  RateGrant grant;
  grant.grant = waiter.empty() ? util::random_hex(8) : waiter;
  auto reply = acquire_script().run(
      m_connection,
      {m_stem + ":requests", m_stem + ":tokens", m_stem + ":pause", m_stem + ":waiting", m_stem + ":need",
       m_stem + ":seen", m_stem + ":info"},
      {std::to_string(m_budget.window.count()), std::to_string(m_budget.margin.count()),
       std::to_string(m_budget.requests_per_minute), std::to_string(m_budget.tokens_per_minute),
       std::to_string(std::max<std::int64_t>(0, tokens)), grant.grant, std::to_string(std::clamp(priority, 0, 2)),
       waiter.empty() ? "0" : "1", m_key.host, m_key.model, m_key.key_fingerprint,
       std::to_string(k_rate_waiter_stale_ms), fmt::format("{:.0f}", k_rate_priority_step)});
  if (!reply) return reply.error();
  if (reply->is_error() || reply->elements.size() != 2) {
    return odd_reply("the shared rate limit answered oddly:", m_stem, *reply);
  }
  grant.granted = reply->elements[0].integer == 1;
  grant.wait = std::chrono::milliseconds(reply->elements[1].integer);
  if (!grant.granted) grant.grant.clear();
  return grant;
}

util::Expected<std::optional<RateGrant>> SharedRateLimit::acquire(std::int64_t tokens, const util::CancelToken& cancel,
                                                                  int priority) {
  const std::string waiter = util::random_hex(8);
  while (!cancel.stop_requested()) {
    auto grant = try_acquire(tokens, waiter, priority);
    if (!grant) return grant.error();
    if (grant->granted) return std::optional<RateGrant>(std::move(*grant));
    // Others may settle or the window slide sooner; never sleep past a second unchecked.
    const auto step = std::clamp(grant->wait, std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
    const auto until = std::chrono::steady_clock::now() + step;
    while (std::chrono::steady_clock::now() < until && !cancel.stop_requested()) {
      std::this_thread::sleep_for(std::min(step, std::chrono::milliseconds(50)));
    }
  }
  if (auto left = leave(waiter); !left) return left.error();
  return std::optional<RateGrant>();
}

util::Expected<void> SharedRateLimit::leave(const std::string& waiter) {
  auto reply = leave_script().run(m_connection, {m_stem + ":waiting", m_stem + ":need", m_stem + ":seen"}, {waiter});
  if (!reply) return reply.error();
  if (reply->is_error()) return odd_reply("leaving the line of", m_stem, *reply);
  return {};
}

util::Expected<void> SharedRateLimit::settle(const std::string& grant, std::int64_t used_tokens) {
  auto reply = settle_script().run(m_connection, {m_stem + ":requests", m_stem + ":tokens"},
                                   {grant, std::to_string(std::max<std::int64_t>(0, used_tokens))});
  if (!reply) return reply.error();
  if (reply->is_error()) return odd_reply("settling a grant of", m_stem, *reply);
  return {};
}

util::Expected<void> SharedRateLimit::pause_for(std::chrono::milliseconds duration) {
  if (duration.count() <= 0) return {};
  auto reply = pause_script().run(m_connection, {m_stem + ":pause", m_stem + ":info"}, {std::to_string(duration.count())});
  if (!reply) return reply.error();
  if (reply->is_error()) return odd_reply("pausing", m_stem, *reply);
  return {};
}

util::Expected<void> SharedRateLimit::learn(const llm::RateLimits& limits) {
  if (!limits.any()) return {};
  auto reply = learn_script().run(m_connection, {m_stem + ":info"},
                                  {std::to_string(limits.requests_per_minute), std::to_string(limits.tokens_per_minute)});
  if (!reply) return reply.error();
  if (reply->is_error()) return odd_reply("learning the limits of", m_stem, *reply);
  return {};
}

util::Expected<std::vector<RateLimitStatus>> rate_limit_statuses(redis::Connection& connection,
                                                                 const std::string& prefix) {
  std::vector<std::string> stems;
  std::string cursor = "0";
  do {
    auto reply = connection.command({"SCAN", cursor, "MATCH", prefix + "{limit:*}:info", "COUNT", "500"});
    if (!reply) return reply.error();
    if (reply->is_error() || reply->elements.size() != 2) return odd_reply("listing the rate limits of", prefix, *reply);
    cursor = reply->elements[0].text;
    for (const auto& key : reply->elements[1].elements) stems.push_back(key.text.substr(0, key.text.size() - 5));
  } while (cursor != "0");
  std::sort(stems.begin(), stems.end());
  std::vector<RateLimitStatus> statuses;
  for (const auto& stem : stems) {
    auto replies = connection.pipeline({{"HGETALL", stem + ":info"},
                                        {"TIME"},
                                        {"ZRANGE", stem + ":requests", "0", "-1", "WITHSCORES"},
                                        {"HVALS", stem + ":tokens"},
                                        {"ZCARD", stem + ":waiting"},
                                        {"PTTL", stem + ":pause"}});
    if (!replies) return replies.error();
    auto& r = *replies;
    std::map<std::string, std::string> info;
    for (std::size_t i = 0; i + 1 < r[0].elements.size(); i += 2) info[r[0].elements[i].text] = r[0].elements[i + 1].text;
    RateLimitStatus status;
    status.host = info["host"];
    status.model = info["model"];
    status.key_fingerprint = info["fingerprint"];
    status.configured = {static_cast<int>(field_number(info, "rpm")), field_number(info, "tpm")};
    status.learned = {static_cast<int>(field_number(info, "learned_rpm")), field_number(info, "learned_tpm")};
    status.window_ms = field_number(info, "window_ms");
    status.granted = field_number(info, "granted");
    status.pauses = field_number(info, "pauses");
    status.paused_ms_total = field_number(info, "paused_ms");
    std::int64_t now_ms = 0;
    if (r[1].elements.size() == 2) {
      now_ms = std::stoll(r[1].elements[0].text) * 1000 + std::stoll(r[1].elements[1].text) / 1000;
    }
    for (std::size_t i = 0; i + 1 < r[2].elements.size(); i += 2) {
      if (std::stoll(r[2].elements[i + 1].text) > now_ms - status.window_ms) ++status.requests_in_window;
    }
    for (const auto& value : r[3].elements) status.tokens_in_window += std::stoll(value.text);
    status.waiting = static_cast<int>(r[4].integer);
    status.paused_ms = std::max<std::int64_t>(0, r[5].integer);
    statuses.push_back(std::move(status));
  }
  return statuses;
}

RedisRateLimiter::RedisRateLimiter(redis::ConnectOptions connect, std::string prefix, llm::RateWindow window)
    : m_connect(std::move(connect)), m_prefix(std::move(prefix)), m_window(window) {}

SharedRateLimit& RedisRateLimiter::limit_of(const llm::RateScope& scope, const llm::RateLimits* limits) {
  for (auto& [known, limit] : m_limits) {
    if (!(known < scope) && !(scope < known)) {
      if (limits) limit->set_limits(limits->requests_per_minute, limits->tokens_per_minute);
      return *limit;
    }
  }
  const llm::RateLimits none;
  const llm::RateLimits& given = limits ? *limits : none;
  RateBudget budget{given.requests_per_minute, given.tokens_per_minute, m_window.window, m_window.margin()};
  m_limits.emplace_back(scope, std::make_unique<SharedRateLimit>(
                                   m_connect, m_prefix, RateLimitKey{scope.host, scope.model, scope.key_fingerprint},
                                   budget));
  return *m_limits.back().second;
}

util::Expected<std::optional<llm::RateTicket>> RedisRateLimiter::acquire(const llm::RateRequest& request,
                                                                         const util::CancelToken& cancel) {
  const std::string waiter = util::random_hex(8);
  const std::int64_t tokens = std::max<std::int64_t>(0, request.tokens);
  while (!cancel.stop_requested()) {
    util::Expected<RateGrant> grant = RateGrant{};
    {
      std::lock_guard lock(m_mutex);
      grant = limit_of(request.scope, &request.limits).try_acquire(tokens, waiter, request.priority);
    }
    if (!grant) return grant.error();
    if (grant->granted) return std::optional<llm::RateTicket>(llm::RateTicket{grant->grant, tokens});
    // Others may settle or the window slide sooner; never sleep past a second unchecked.
    const auto step = std::clamp(grant->wait, std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
    const auto until = std::chrono::steady_clock::now() + step;
    while (std::chrono::steady_clock::now() < until && !cancel.stop_requested()) {
      std::this_thread::sleep_for(std::min(step, std::chrono::milliseconds(50)));
    }
  }
  std::lock_guard lock(m_mutex);
  if (auto left = limit_of(request.scope, &request.limits).leave(waiter); !left) return left.error();
  return std::optional<llm::RateTicket>();
}

void RedisRateLimiter::settle(const llm::RateScope& scope, const llm::RateTicket& ticket, std::int64_t used_tokens) {
  std::lock_guard lock(m_mutex);
  auto& limit = limit_of(scope, nullptr);
  if (auto settled = limit.settle(ticket.grant, used_tokens); !settled) util::log_verbose(settled.error().message);
}

void RedisRateLimiter::learn(const llm::RateScope& scope, const llm::ProviderRateHeaders& headers) {
  const auto limits = headers.limits();
  if (!limits.any()) return;
  std::lock_guard lock(m_mutex);
  // Said on every answer: sent to Redis only when it changed, as this process saw it.
  auto& known = m_learned[scope.text()];
  if (known.requests_per_minute == limits.requests_per_minute && known.tokens_per_minute == limits.tokens_per_minute) {
    return;
  }
  if (auto learned = limit_of(scope, nullptr).learn(limits); !learned) {
    util::log_verbose(learned.error().message);
    return;
  }
  known = limits;
}

void RedisRateLimiter::pause(const llm::RateScope& scope, std::chrono::milliseconds duration) {
  std::lock_guard lock(m_mutex);
  if (auto paused = limit_of(scope, nullptr).pause_for(duration); !paused) util::log_verbose(paused.error().message);
}

}  // namespace pipeline::queue

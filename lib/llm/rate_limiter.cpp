#include "lib/llm/rate_limiter.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <tuple>

#include "lib/llm/provider_profile.hpp"
#include "lib/util/sha256.hpp"

namespace pipeline::llm {
namespace {

// How often a waiter looks at its cancel token and at changes.
constexpr auto k_rate_check_interval = std::chrono::milliseconds(50);

std::optional<std::int64_t> whole_number(std::string_view text) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || ptr != end || value < 0) return std::nullopt;
  return value;
}

}  // namespace

bool RateScope::operator<(const RateScope& other) const {
  return std::tie(host, model, key_fingerprint) < std::tie(other.host, other.model, other.key_fingerprint);
}

std::string RateScope::text() const { return host + "|" + model + "|" + key_fingerprint; }

std::string rate_key_fingerprint(std::string_view api_key) {
  return util::sha256_hex("pipeline rate limit\n" + std::string(api_key)).substr(0, 16);
}

RateScope rate_scope(const std::string& base_url, const std::string& model, std::string_view api_key) {
  const std::string host = url_host(base_url);
  return {host.empty() ? base_url : host, model, rate_key_fingerprint(api_key)};
}

RateLimits effective_limits(const RateLimits& configured, const RateLimits& learned) {
  auto lower = [](auto mine, auto theirs) {
    if (mine > 0 && theirs > 0) return std::min(mine, theirs);
    return mine > 0 ? mine : theirs;
  };
  return {lower(configured.requests_per_minute, learned.requests_per_minute),
          lower(configured.tokens_per_minute, learned.tokens_per_minute)};
}

bool ProviderRateHeaders::any() const {
  return limit_requests || limit_tokens || remaining_requests || remaining_tokens || reset_requests || reset_tokens;
}

RateLimits ProviderRateHeaders::limits() const {
  RateLimits limits;
  if (limit_requests) limits.requests_per_minute = static_cast<int>(std::min<std::int64_t>(*limit_requests, 1 << 30));
  if (limit_tokens) limits.tokens_per_minute = *limit_tokens;
  return limits;
}

std::optional<std::chrono::milliseconds> parse_reset_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (auto seconds = whole_number(text)) return std::chrono::milliseconds(*seconds * 1000);
  double total_ms = 0;
  std::size_t at = 0;
  bool any = false;
  while (at < text.size()) {
    std::size_t end = at;
    while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.')) ++end;
    if (end == at) return std::nullopt;
    double number = 0;
    const auto [ptr, error] = std::from_chars(text.data() + at, text.data() + end, number);
    if (error != std::errc() || ptr != text.data() + end) return std::nullopt;
    std::size_t unit_end = end;
    while (unit_end < text.size() && std::isalpha(static_cast<unsigned char>(text[unit_end]))) ++unit_end;
    const std::string_view unit = text.substr(end, unit_end - end);
    if (unit == "ms") total_ms += number;
    else if (unit == "s") total_ms += number * 1000;
    else if (unit == "m") total_ms += number * 60'000;
    else if (unit == "h") total_ms += number * 3'600'000;
    else return std::nullopt;
    any = true;
    at = unit_end;
  }
  if (!any || !std::isfinite(total_ms)) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(total_ms)));
}

ProviderRateHeaders parse_rate_headers(const std::vector<std::pair<std::string, std::string>>& headers) {
  ProviderRateHeaders said;
  for (const auto& [name, value] : headers) {
    if (name == "x-ratelimit-limit-requests") said.limit_requests = whole_number(value);
    else if (name == "x-ratelimit-limit-tokens") said.limit_tokens = whole_number(value);
    else if (name == "x-ratelimit-remaining-requests") said.remaining_requests = whole_number(value);
    else if (name == "x-ratelimit-remaining-tokens") said.remaining_tokens = whole_number(value);
    else if (name == "x-ratelimit-reset-requests") said.reset_requests = parse_reset_duration(value);
    else if (name == "x-ratelimit-reset-tokens") said.reset_tokens = parse_reset_duration(value);
  }
  return said;
}

std::chrono::milliseconds RateWindow::margin() const {
  return std::max(std::chrono::milliseconds(250), window / 40);
}

LocalRateLimiter::LocalRateLimiter(RateWindow window) : m_window(window) {}

LocalRateLimiter::Clock::duration LocalRateLimiter::wait_for(Budget& budget, const RateLimits& configured,
                                                            std::int64_t tokens, std::pair<int, std::uint64_t> place,
                                                            Clock::time_point now) {
  const auto held = m_window.window + m_window.margin();
  while (!budget.granted.empty() && budget.granted.front().at + held <= now) budget.granted.pop_front();
  if (budget.paused_until > now) return budget.paused_until - now;
  const RateLimits limits = effective_limits(configured, budget.learned);
  // What the requests waiting ahead of this one need first.
  std::int64_t ahead_count = 0;
  std::int64_t ahead_tokens = 0;
  for (const auto& [key, waiter] : budget.waiting) {
    if (!(key < place)) break;
    ++ahead_count;
    ahead_tokens += waiter.tokens;
  }
  std::int64_t used = 0;
  for (const auto& granted : budget.granted) used += granted.tokens;
  const auto count = static_cast<std::int64_t>(budget.granted.size());
  const bool requests_fit = limits.requests_per_minute <= 0 || count + ahead_count + 1 <= limits.requests_per_minute;
  // A request larger than the whole budget is granted alone, once nothing else is counted.
  const bool tokens_fit = limits.tokens_per_minute <= 0 || used + ahead_tokens + tokens <= limits.tokens_per_minute ||
                          (count == 0 && ahead_count == 0);
  if (requests_fit && tokens_fit) return Clock::duration::zero();
  Clock::time_point fits = now;
  if (!requests_fit) {
    const std::int64_t leave = count + ahead_count + 1 - limits.requests_per_minute;
    fits = std::max(fits, leave <= count ? budget.granted[static_cast<std::size_t>(leave - 1)].at + held : now + held);
  }
  if (!tokens_fit) {
    std::int64_t left = used + ahead_tokens;
    Clock::time_point when = now + held;
    for (const auto& granted : budget.granted) {
      left -= granted.tokens;
      if (left + tokens <= limits.tokens_per_minute) {
        when = granted.at + held;
        break;
      }
    }
    fits = std::max(fits, when);
  }
  return std::max<Clock::duration>(fits - now, std::chrono::milliseconds(1));
}

util::Expected<std::optional<RateTicket>> LocalRateLimiter::acquire(const RateRequest& request,
                                                                    const util::CancelToken& cancel) {
  std::unique_lock lock(m_mutex);
  Budget& budget = m_budgets[request.scope];
  const std::pair<int, std::uint64_t> place{request.priority, m_next_id++};
  const std::int64_t tokens = std::max<std::int64_t>(0, request.tokens);
  bool waiting = false;
  while (true) {
    if (cancel.stop_requested()) {
      if (waiting) budget.waiting.erase(place);
      m_changed.notify_all();
      return std::optional<RateTicket>();
    }
    const auto now = Clock::now();
    const auto wait = wait_for(budget, request.limits, tokens, place, now);
    if (wait == Clock::duration::zero()) {
      if (waiting) budget.waiting.erase(place);
      budget.granted.push_back({now, place.second, tokens});
      m_changed.notify_all();
      return std::optional<RateTicket>(RateTicket{std::to_string(place.second), tokens});
    }
    if (!waiting) {
      budget.waiting.emplace(place, Waiter{tokens});
      waiting = true;
    }
    m_changed.wait_for(lock, std::min<Clock::duration>(wait, k_rate_check_interval));
  }
}

void LocalRateLimiter::settle(const RateScope& scope, const RateTicket& ticket, std::int64_t used_tokens) {
  std::lock_guard lock(m_mutex);
  auto found = m_budgets.find(scope);
  if (found == m_budgets.end()) return;
  const auto id = std::strtoull(ticket.grant.c_str(), nullptr, 10);
  for (auto& granted : found->second.granted) {
    if (granted.id == id) granted.tokens = std::max<std::int64_t>(0, used_tokens);
  }
  m_changed.notify_all();
}

void LocalRateLimiter::learn(const RateScope& scope, const ProviderRateHeaders& headers) {
  const RateLimits limits = headers.limits();
  if (!limits.any()) return;
  std::lock_guard lock(m_mutex);
  auto& learned = m_budgets[scope].learned;
  if (limits.requests_per_minute > 0) learned.requests_per_minute = limits.requests_per_minute;
  if (limits.tokens_per_minute > 0) learned.tokens_per_minute = limits.tokens_per_minute;
}

void LocalRateLimiter::pause(const RateScope& scope, std::chrono::milliseconds duration) {
  if (duration.count() <= 0) return;
  std::lock_guard lock(m_mutex);
  auto& until = m_budgets[scope].paused_until;
  until = std::max(until, Clock::now() + std::min<std::chrono::milliseconds>(duration, std::chrono::hours(24)));
}

int LocalRateLimiter::granted_in_window(const RateScope& scope) {
  std::lock_guard lock(m_mutex);
  auto found = m_budgets.find(scope);
  if (found == m_budgets.end()) return 0;
  const auto since = Clock::now() - m_window.window - m_window.margin();
  return static_cast<int>(std::count_if(found->second.granted.begin(), found->second.granted.end(),
                                        [&](const Granted& granted) { return granted.at > since; }));
}

}  // namespace pipeline::llm

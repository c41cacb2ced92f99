#include "tests/fake_server/provider_limits.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <httplib.h>

#include "tests/fake_server/fake_llm_server.hpp"

namespace pipeline::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

milliseconds ceil_ms(steady_clock::duration duration) {
  return std::max(milliseconds(0), std::chrono::ceil<milliseconds>(duration));
}

}  // namespace

ProviderLimits::ProviderLimits(ProviderLimitSettings settings) : m_settings(settings) {}

void ProviderLimits::forget_before(steady_clock::time_point now) {
  while (!m_taken.empty() && m_taken.front().at + m_settings.window <= now) {
    m_tokens_in_window -= m_taken.front().tokens;
    m_taken.pop_front();
  }
}

LimitVerdict ProviderLimits::admit(std::int64_t tokens, steady_clock::time_point now) {
  std::lock_guard lock(m_mutex);
  forget_before(now);
  const int rpm = m_settings.requests_per_minute;
  const std::int64_t tpm = m_settings.tokens_per_minute;
  const bool requests_fit = rpm <= 0 || static_cast<int>(m_taken.size()) + 1 <= rpm;
  // A request larger than the whole budget could never fit; a provider takes
  // it alone, once the window is empty, rather than refusing it for ever.
  const bool tokens_fit = tpm <= 0 || m_tokens_in_window + tokens <= tpm || m_taken.empty();

  LimitVerdict verdict;
  verdict.admitted = requests_fit && tokens_fit;
  if (verdict.admitted) {
    m_taken.push_back({now, tokens});
    m_tokens_in_window += tokens;
    m_admissions.emplace_back(now, tokens);
    ++m_admitted;
  } else {
    ++m_refused;
    // When this request would fit: once enough of the oldest taken requests
    // have left the window.
    steady_clock::time_point fits = now;
    if (!requests_fit) {
      const auto& oldest_to_leave = m_taken.at(m_taken.size() - static_cast<std::size_t>(rpm));
      fits = std::max(fits, oldest_to_leave.at + m_settings.window);
    }
    if (!tokens_fit) {
      std::int64_t left = m_tokens_in_window;
      for (const auto& taken : m_taken) {
        left -= taken.tokens;
        if (left + tokens <= tpm || &taken == &m_taken.back()) {
          fits = std::max(fits, taken.at + m_settings.window);
          break;
        }
      }
    }
    verdict.retry_after = ceil_ms(fits - now);
    const auto seconds = (verdict.retry_after.count() + 999) / 1000;
    verdict.headers.emplace_back("Retry-After", std::to_string(std::max<long long>(1, seconds)));
  }
  // The state after this request, as OpenAI reports it on every answer:
  // limit, what is left, and when the window is empty again.
  const milliseconds reset = m_taken.empty() ? milliseconds(0) : ceil_ms(m_taken.back().at + m_settings.window - now);
  if (rpm > 0) {
    verdict.headers.emplace_back("x-ratelimit-limit-requests", std::to_string(rpm));
    verdict.headers.emplace_back("x-ratelimit-remaining-requests",
                                 std::to_string(std::max(0, rpm - static_cast<int>(m_taken.size()))));
    verdict.headers.emplace_back("x-ratelimit-reset-requests", openai_reset_text(reset));
  }
  if (tpm > 0) {
    verdict.headers.emplace_back("x-ratelimit-limit-tokens", std::to_string(tpm));
    verdict.headers.emplace_back("x-ratelimit-remaining-tokens",
                                 std::to_string(std::max<std::int64_t>(0, tpm - m_tokens_in_window)));
    verdict.headers.emplace_back("x-ratelimit-reset-tokens", openai_reset_text(reset));
  }
  return verdict;
}

int ProviderLimits::admitted() const {
  std::lock_guard lock(m_mutex);
  return m_admitted;
}

std::vector<std::pair<steady_clock::time_point, std::int64_t>> ProviderLimits::admissions() const {
  std::lock_guard lock(m_mutex);
  return m_admissions;
}

int ProviderLimits::refused() const {
  std::lock_guard lock(m_mutex);
  return m_refused;
}

bool answer_within_limits(ProviderLimits* limits, const nlohmann::json& body, httplib::Response& response) {
  if (!limits) return true;
  const std::int64_t tokens = charged_tokens(body);
  const auto verdict = limits->admit(tokens, steady_clock::now());
  for (const auto& [name, value] : verdict.headers) response.set_header(name, value);
  if (verdict.admitted) return true;
  const std::string wait = openai_reset_text(verdict.retry_after);
  const nlohmann::json error{
      {"error",
       {{"message", fmt::format("Rate limit reached for requests and tokens of this key (RPM {}, TPM {}); this request "
                                "of {} tokens fits in {}.",
                                limits->settings().requests_per_minute, limits->settings().tokens_per_minute, tokens,
                                wait)},
        {"type", "requests"},
        {"param", nullptr},
        {"code", "rate_limit_exceeded"}}}};
  response.status = 429;
  response.set_content(error.dump(), "application/json");
  return false;
}

std::string openai_reset_text(milliseconds duration) {
  const long long total = std::max<long long>(0, duration.count());
  if (total < 1000) return fmt::format("{}ms", total);
  const long long hours = total / 3'600'000;
  const long long minutes = total / 60'000 % 60;
  const long long ms = total % 60'000;
  std::string seconds = fmt::format("{}", ms / 1000);
  if (ms % 1000 != 0) {
    seconds += fmt::format(".{:03}", ms % 1000);
    while (seconds.back() == '0') seconds.pop_back();
  }
  if (hours > 0) return fmt::format("{}h{}m{}s", hours, minutes, seconds);
  if (minutes > 0) return fmt::format("{}m{}s", minutes, seconds);
  return seconds + "s";
}

std::int64_t charged_tokens(const nlohmann::json& body) {
  std::int64_t tokens = 0;
  if (body.is_object() && body.contains("messages")) {
    tokens = fake_usage(body["messages"], "").value("prompt_tokens", std::int64_t{0});
  }
  for (const char* name : {"max_completion_tokens", "max_tokens"}) {
    if (body.is_object() && body.contains(name) && body[name].is_number_integer()) {
      tokens += std::max<std::int64_t>(0, body[name].get<std::int64_t>());
      break;
    }
  }
  return tokens;
}

}  // namespace pipeline::testing

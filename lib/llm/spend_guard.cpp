#include "lib/llm/spend_guard.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "lib/llm/provider_usage.hpp"
#include "lib/llm/token_estimate.hpp"

namespace pipeline::llm {
namespace {

// Sums of doubles drift; a request that fits the cap exactly is not refused for it.
constexpr double k_rounding_slack_usd = 1e-9;

std::string dollars(double usd) { return fmt::format("${:.4f}", usd); }

}  // namespace

SpendGuard::SpendGuard(double cap_usd, double spent_usd, std::map<std::string, Price> prices)
    : m_cap(cap_usd), m_spent(spent_usd), m_prices(std::move(prices)) {}

double SpendGuard::spent() const {
  std::lock_guard lock(m_mutex);
  return m_spent;
}

double SpendGuard::reserved() const {
  std::lock_guard lock(m_mutex);
  return m_reserved;
}

std::optional<double> SpendGuard::estimate(const std::string& model, const std::vector<Message>& messages,
                                           int max_tokens) const {
  // m_prices never changes after construction: no lock needed.
  auto price = m_prices.find(model);
  if (price == m_prices.end()) return std::nullopt;
  // At worst every prompt token is a cache write, where a write costs more than the base price.
  Price worst = price->second;
  worst.prompt_per_million = std::max(worst.prompt_per_million, worst.cache_write_per_million.value_or(0.0));
  return price_usage(worst, estimate_prompt_tokens(messages), std::max(0, max_tokens));
}

util::Expected<double> SpendGuard::reserve(const std::string& model, const std::vector<Message>& messages,
                                           int max_tokens) {
  const auto cost = estimate(model, messages, max_tokens);
  if (!cost) {
    return util::fail(util::ErrorKind::usage,
                      "--max-cost needs the price of model " + model +
                          ": give it with --prices (MODEL=PROMPT,COMPLETION per million tokens)",
                      "no_price");
  }
  std::lock_guard lock(m_mutex);
  if (m_spent + m_reserved + *cost > m_cap + k_rounding_slack_usd) {
    const std::string in_flight =
        m_reserved > 0 ? " (and " + dollars(m_reserved) + " reserved by calls in flight)" : "";
    return util::fail(util::ErrorKind::cost_limit,
                      "the next model call could cost up to " + dollars(*cost) + " (about " +
                          std::to_string(estimate_prompt_tokens(messages)) + " prompt tokens + " +
                          std::to_string(std::max(0, max_tokens)) + " completion tokens of " + model +
                          "); with " + dollars(m_spent) + " spent" + in_flight +
                          " that would pass the cost cap of " + dollars(m_cap) + " (--max-cost)",
                      "cost_limit");
  }
  m_reserved += *cost;
  return *cost;
}

void SpendGuard::settle(double reserved_usd, std::optional<double> actual_usd) {
  std::lock_guard lock(m_mutex);
  m_reserved -= reserved_usd;
  // Rounding must never leave a negative or a dust reservation behind.
  if (m_reserved < k_rounding_slack_usd) m_reserved = 0;
  m_spent += actual_usd.value_or(reserved_usd);
}

}  // namespace pipeline::llm

#include "lib/llm/retry_policy.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <random>

#include <time.h>

namespace pipeline::llm {

bool is_retryable_status(int status, bool has_retry_after) {
  if (status == 408 || status == 429) return true;
  if (status == 402) return has_retry_after;
  return status >= 500 && status <= 599;
}

std::optional<double> parse_retry_after(std::string_view value, std::time_t now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\r' || value.back() == '\n'))
    value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  double seconds = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (error == std::errc() && end == value.data() + value.size()) {
    if (seconds < 0 || !std::isfinite(seconds)) return std::nullopt;
    return seconds;
  }
  // An HTTP date, e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
  std::tm parts{};
  const std::string text(value);
  const char* rest = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parts);
  if (rest == nullptr || *rest != '\0') return std::nullopt;
  const std::time_t when = timegm(&parts);
  return std::max(0.0, std::difftime(when, now));
}

double RetryPolicy::wait_before_retry(int retry, std::optional<double> retry_after_s) const {
  if (retry_after_s) return std::min(*retry_after_s, max_retry_after_s);
  const double ceiling = std::min(max_s, base_s * std::pow(2.0, std::max(0, retry - 1)));
  thread_local std::mt19937_64 random{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, ceiling)(random);
}

std::string provider_error_advice(int status, const std::string& provider_message, const std::string& key_source,
                                  const std::string& model, const std::string& base_url) {
  const std::string said = provider_message.empty() ? "" : " (the provider said: " + provider_message + ")";
  const std::string key_name = key_source.empty() ? "PIPELINE_API_KEY" : key_source;
  switch (status) {
    case 401:
      if (key_source.empty())
        return "the provider wants an API key (HTTP 401): set PIPELINE_API_KEY" + said;
      return "the API key was refused (HTTP 401): check " + key_name + said;
    case 402:
      return "the provider wants payment (HTTP 402): add credit to the account of the key in " + key_name + said;
    case 403:
      return "the provider refused the request (HTTP 403): check that the key in " + key_name +
             " may use model " + model + said;
    case 404:
      return "the model or endpoint was not found (HTTP 404): check --model (" + model + ") and --base-url (" +
             base_url + ")" + said;
    case 400:
      return "the provider rejected the request (HTTP 400)" + said +
             "; if it is about response_format, try --structured-output prompt";
    default:
      return "the provider refused the request (HTTP " + std::to_string(status) + ")" + said;
  }
}

}  // namespace pipeline::llm

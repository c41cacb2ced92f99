#include "lib/llm/retry_policy.hpp"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cmath>
#include <iterator>
#include <random>

#include <time.h>

namespace pipeline::llm {

bool is_retryable_status(int status, bool has_retry_after) {
  if (status == 408 || status == 429) return true;
  if (status == 402) return has_retry_after;
  return status == 500 || status == 502 || status == 503 || status == 504;
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
  // An HTTP date: "Wed, 21 Oct 2015 07:28:00 GMT" (IMF-fixdate),
  // "Wednesday, 21-Oct-15 07:28:00 GMT" (RFC 850) or "Wed Oct 21 07:28:00 2015" (asctime).
  static const char* const k_date_formats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                               "%a %b %e %H:%M:%S %Y"};
  const std::string text(value);
  for (const char* format : k_date_formats) {
    std::tm parts{};
    const char* rest = strptime(text.c_str(), format, &parts);
    if (rest == nullptr || *rest != '\0') continue;
    const std::time_t when = timegm(&parts);
    return std::max(0.0, std::difftime(when, now));
  }
  return std::nullopt;
}

double RetryPolicy::wait_before_retry(int retry, std::optional<double> retry_after_s) const {
  if (retry_after_s) return std::min(*retry_after_s, max_retry_after_s);
  const double ceiling = std::min(max_s, base_s * std::pow(2.0, std::max(0, retry - 1)));
  thread_local std::mt19937_64 random{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, ceiling)(random);
}

bool is_context_length_error(std::string_view provider_message) {
  static const char* const k_phrases[] = {
      "context_length_exceeded",                     // OpenAI's code
      "maximum context length",                      // OpenAI, OpenRouter ("this endpoint's ..."), vLLM
      "longer than the model's context length",      // vLLM
      "longer than the maximum model length",        // vLLM
      "too long to fit into the model",              // vLLM
      "exceeds the available context size",          // llama.cpp (exceed_context_size_error)
      "exceed_context_size",                         // llama.cpp's type, when quoted
      "prompt is too long",                          // Anthropic
      "exceeds the maximum number of tokens allowed" // Gemini
  };
  std::string lower(provider_message);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::any_of(std::begin(k_phrases), std::end(k_phrases),
                     [&lower](const char* phrase) { return lower.find(phrase) != std::string::npos; });
}

std::string context_length_advice(const std::string& provider_message) {
  return "the request is longer than the model's context window (the provider said: " + provider_message +
         "): lower --set mechanisms.max_input_tokens=N (smaller document chunks) or the stage's "
         "--set <stage>.max_tokens=N, or use a model with a longer context";
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

#include "lib/notify/webhook_url.hpp"

#include <memory>
#include <optional>

#include <curl/curl.h>
#include <fmt/format.h>

#include "lib/util/text.hpp"

namespace pipeline::notify {
namespace {

using ParsedWebhookUrl = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;

ParsedWebhookUrl curl_parse_webhook_url(std::string_view text) {
  ParsedWebhookUrl handle(curl_url(), &curl_url_cleanup);
  const std::string copy(text);
  if (!handle || curl_url_set(handle.get(), CURLUPART_URL, copy.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    return ParsedWebhookUrl(nullptr, &curl_url_cleanup);
  }
  return handle;
}

// One part of a parsed URL, nullopt when the URL has none.
std::optional<std::string> webhook_url_part(CURLU* handle, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(handle, part, &value, 0) != CURLUE_OK || value == nullptr) return std::nullopt;
  std::string text(value);
  curl_free(value);
  return text;
}

std::string redact_parsed_webhook_url(CURLU* handle) {
  std::string text = webhook_url_part(handle, CURLUPART_SCHEME).value_or("") + "://" +
                     webhook_url_part(handle, CURLUPART_HOST).value_or("");
  if (auto port = webhook_url_part(handle, CURLUPART_PORT)) text += ":" + *port;
  return text + webhook_url_part(handle, CURLUPART_PATH).value_or("/");
}

}  // namespace

util::Expected<WebhookUrl> parse_webhook_url(std::string_view text) {
  auto handle = curl_parse_webhook_url(text);
  if (!handle) {
    return util::fail(util::ErrorKind::bad_input,
                      "the webhook URL is not a valid absolute URL: give one such as https://example.com/hook");
  }
  const std::string scheme = util::to_lower(webhook_url_part(handle.get(), CURLUPART_SCHEME).value_or(""));
  const std::string redacted = redact_parsed_webhook_url(handle.get());
  if (scheme != "http" && scheme != "https") {
    return util::fail(util::ErrorKind::bad_input,
                      fmt::format("the webhook URL {} is not http:// or https://; no other scheme is posted to", redacted));
  }
  std::string host = webhook_url_part(handle.get(), CURLUPART_HOST).value_or("");
  if (host.empty()) {
    return util::fail(util::ErrorKind::bad_input, fmt::format("the webhook URL {} names no host", redacted));
  }
  if (webhook_url_part(handle.get(), CURLUPART_USER) || webhook_url_part(handle.get(), CURLUPART_PASSWORD)) {
    return util::fail(util::ErrorKind::bad_input,
                      fmt::format("the webhook URL {} carries a user name or password, which would be sent as an "
                                  "Authorization header: webhooks carry none; the receiver checks the "
                                  "X-Pipeline-Signature header instead",
                                  redacted));
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return WebhookUrl{std::string(text), std::move(host), redacted};
}

std::string redacted_url(std::string_view url) {
  auto handle = curl_parse_webhook_url(url);
  return handle ? redact_parsed_webhook_url(handle.get()) : "(not a URL)";
}

}  // namespace pipeline::notify

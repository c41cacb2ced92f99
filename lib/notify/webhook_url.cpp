#include "lib/notify/webhook_url.hpp"

#include <algorithm>
#include <memory>
#include <optional>

#include <netdb.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <fmt/format.h>

#include "lib/net/address_guard.hpp"
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

util::Expected<void> check_webhook_address(const WebhookUrl& url, bool allow_private) {
  if (allow_private) return {};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(url.host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) return {};
  net::GuardState refused;
  bool any_allowed = false;
  for (const addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
    auto reason = net::private_address_reason(entry->ai_addr);
    if (!reason) {
      any_allowed = true;
      break;
    }
    const std::string address = net::address_text(entry->ai_addr);
    const bool seen = std::any_of(refused.refused.begin(), refused.refused.end(),
                                  [&](const auto& refusal) { return refusal.address == address; });
    if (!seen) refused.refused.push_back({address, *reason});
  }
  ::freeaddrinfo(found);
  if (any_allowed) return {};
  return webhook_refusal(url.url, std::move(refused));
}

util::Error webhook_refusal(std::string_view url, net::GuardState refused) {
  // Redirects are not followed, so the URL refused is the one posted to;
  // neither is shown with its query.
  if (!refused.refused_url.empty()) refused.refused_url = redacted_url(refused.refused_url);
  util::Error error = net::refusal_error(redacted_url(url), refused);
  // The guard speaks of fetching documents; a webhook is posted.
  constexpr std::string_view k_fetch_words = "refusing to fetch ";
  if (error.message.rfind(k_fetch_words, 0) == 0) {
    error.message = "refusing to post webhooks to " + error.message.substr(k_fetch_words.size());
  }
  return error;
}

std::string redacted_url(std::string_view url) {
  auto handle = curl_parse_webhook_url(url);
  return handle ? redact_parsed_webhook_url(handle.get()) : "(not a URL)";
}

}  // namespace pipeline::notify

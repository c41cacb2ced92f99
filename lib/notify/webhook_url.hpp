#pragma once

#include <string>
#include <string_view>

#include "lib/net/address_guard.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::notify {

// A URL that webhooks may be posted to.
struct WebhookUrl {
  std::string url;       // as given
  std::string host;      // the host name or address, IPv6 without brackets
  std::string redacted;  // for events and messages: see redacted_url
};

// Accepts only an absolute http:// or https:// URL with a host and without a
// user name or password (libcurl would send them as an Authorization header,
// and a webhook carries none: its receiver checks the signature instead).
// Anything else is bad_input, with a message that does not repeat the query.
util::Expected<WebhookUrl> parse_webhook_url(std::string_view text);

// Refuses, before any delivery, a URL whose host is or resolves only to
// addresses that the address guard refuses (loopback, the local network,
// link-local, ...; lib/net/address_guard.hpp), unless `allow_private`:
// bad_input naming the address and --allow-private-urls. A name that does
// not resolve now passes; the guard still checks every delivery's connection.
util::Expected<void> check_webhook_address(const WebhookUrl& url, bool allow_private);

// The address guard's refusal of a webhook to `url` (bad_input, one line):
// the URL redacted, the addresses refused and --allow-private-urls.
util::Error webhook_refusal(std::string_view url, net::GuardState refused);

// The URL as events and messages show it: scheme, host, port and path, without
// user name, password, query or fragment, where a receiver's token usually
// sits. "(not a URL)" when it does not parse.
std::string redacted_url(std::string_view url);

}  // namespace pipeline::notify

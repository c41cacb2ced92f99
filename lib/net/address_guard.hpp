#pragma once

// The guard against server-side request forgery: URLs that people other than
// the one at the terminal hand to `pipeline` (documents, webhooks) must not
// reach loopback, the local network or a cloud metadata service. The check is
// made on the address libcurl is about to connect to, after DNS, on every
// redirect hop and every retry, so a name that resolves to 127.0.0.1
// (localhost, DNS rebinding) is refused as surely as the number itself.

#include <sys/socket.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <curl/curl.h>

#include "lib/util/error.hpp"

namespace pipeline::net {

// Why `address` is not a public internet address ("loopback", "private",
// "link-local", "carrier-grade NAT", "unique-local", "unspecified",
// "multicast", "broadcast", "reserved", "site-local", "benchmarking"
// (198.18.0.0/15), "IETF protocol assignments" (192.0.0.0/24)), or nullopt
// for a public one. IPv6 forms that carry an IPv4 address (IPv4-mapped
// ::ffff:a.b.c.d, SIIT ::ffff:0:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64
// 64:ff9b::a.b.c.d, 6to4 2002:aabb:ccdd::)
// are judged by that IPv4 address. Families other than IPv4 and IPv6 are
// "not an IP address".
std::optional<std::string> private_address_reason(const sockaddr* address);

// The same for a numeric address in text ("10.0.0.1", "::1"); nullopt also
// for text that is no numeric IP address.
std::optional<std::string> private_address_reason(std::string_view numeric_address);

// The address in its usual text form: "127.0.0.1", "::ffff:10.0.0.1".
std::string address_text(const sockaddr* address);

// Why an address is refused, or nullopt to let the connection go ahead.
using AddressCheck = std::function<std::optional<std::string>(const sockaddr*)>;

// What a guarded transfer may connect to.
struct UrlGuardPolicy {
  // --allow-private-urls / PIPELINE_ALLOW_PRIVATE_URLS=1: every address is allowed.
  bool allow_private = false;
  // Which addresses are refused; empty means private_address_reason. Tests
  // use it to refuse one of two loopback servers.
  AddressCheck check;
};

// What the guard saw on one handle; read it after curl_easy_perform. The
// fields are filled by the guard's callback.
struct GuardState {
  struct Refusal {
    std::string address;  // "127.0.0.1"
    std::string reason;   // "loopback"
  };
  std::vector<Refusal> refused;  // distinct addresses, in the order tried
  std::string refused_url;       // the URL (redirect hop) whose host resolved there
  bool refused_after_redirect = false;  // refused_url was reached by a redirect
  // Set by guard_curl_handle for its callback.
  const UrlGuardPolicy* policy = nullptr;
  CURL* handle = nullptr;

  bool any_refused() const { return !refused.empty(); }
};

// Makes `handle` refuse to connect to what `policy` refuses, before any byte
// is sent: libcurl's CURLOPT_OPENSOCKETFUNCTION sees each address it is about
// to connect to. Unless private addresses are allowed, proxies are turned off
// for the handle (the http_proxy/https_proxy/all_proxy variables included):
// through a proxy the connected address is the proxy's and the destination
// could not be checked. `policy` and `state` must outlive the handle's
// transfers; a refused address makes the transfer fail (CURLE_COULDNT_CONNECT)
// unless the name has another address that is allowed.
void guard_curl_handle(CURL* handle, const UrlGuardPolicy& policy, GuardState& state);

// The one-line bad_input error for a transfer of `url` that the guard
// stopped, naming the address and the way out (code "private_address"):
// "refusing to fetch URL: it resolves to 127.0.0.1 (loopback); pass
// --allow-private-urls (or PIPELINE_ALLOW_PRIVATE_URLS=1) to allow private addresses".
util::Error refusal_error(std::string_view url, const GuardState& state);

}  // namespace pipeline::net

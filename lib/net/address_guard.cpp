#include "lib/net/address_guard.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

namespace pipeline::net {
namespace {

using Ipv6Bytes = std::array<std::uint8_t, 16>;

// Whether the top `bits` of `address` equal those of `prefix` (host order).
bool in_v4_block(std::uint32_t address, std::uint32_t prefix, int bits) {
  const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
  return (address & mask) == (prefix & mask);
}

constexpr std::uint32_t guard_v4(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

std::optional<std::string> v4_reason(std::uint32_t address) {
  if (in_v4_block(address, guard_v4(0, 0, 0, 0), 8)) return "unspecified";
  if (in_v4_block(address, guard_v4(127, 0, 0, 0), 8)) return "loopback";
  if (in_v4_block(address, guard_v4(10, 0, 0, 0), 8) || in_v4_block(address, guard_v4(172, 16, 0, 0), 12) ||
      in_v4_block(address, guard_v4(192, 168, 0, 0), 16)) {
    return "private";
  }
  if (in_v4_block(address, guard_v4(169, 254, 0, 0), 16)) return "link-local";
  if (in_v4_block(address, guard_v4(100, 64, 0, 0), 10)) return "carrier-grade NAT";
  if (in_v4_block(address, guard_v4(198, 18, 0, 0), 15)) return "benchmarking";
  if (in_v4_block(address, guard_v4(192, 0, 0, 0), 24)) return "IETF protocol assignments";
  if (address == guard_v4(255, 255, 255, 255)) return "broadcast";
  if (in_v4_block(address, guard_v4(224, 0, 0, 0), 4)) return "multicast";
  if (in_v4_block(address, guard_v4(240, 0, 0, 0), 4)) return "reserved";
  return std::nullopt;
}

// The IPv4 address in four bytes of `bytes` from `at`, in host order.
std::uint32_t embedded_v4(const Ipv6Bytes& bytes, std::size_t at) {
  return (std::uint32_t{bytes[at]} << 24) | (std::uint32_t{bytes[at + 1]} << 16) |
         (std::uint32_t{bytes[at + 2]} << 8) | std::uint32_t{bytes[at + 3]};
}

bool all_zero(const Ipv6Bytes& bytes, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

std::optional<std::string> v6_reason(const Ipv6Bytes& b) {
  if (all_zero(b, 0, 16)) return "unspecified";
  if (all_zero(b, 0, 15) && b[15] == 1) return "loopback";
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible) reach that IPv4 address.
  if (all_zero(b, 0, 10) && b[10] == 0xff && b[11] == 0xff) return v4_reason(embedded_v4(b, 12));
  if (all_zero(b, 0, 12)) return v4_reason(embedded_v4(b, 12));
  // ::ffff:0:a.b.c.d (SIIT, IPv4-translated) reaches that IPv4 address too.
  if (all_zero(b, 0, 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0) {
    return v4_reason(embedded_v4(b, 12));
  }
  // NAT64's well-known prefix 64:ff9b::/96 translates to the IPv4 address in
  // its last 32 bits; its local-use prefix 64:ff9b:1::/48 is private.
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) {
    if (all_zero(b, 4, 12)) return v4_reason(embedded_v4(b, 12));
    if (b[4] == 0x00 && b[5] == 0x01) return "private";
  }
  // 6to4 (2002::/16) carries the IPv4 address of its relay in bits 16-47.
  if (b[0] == 0x20 && b[1] == 0x02) return v4_reason(embedded_v4(b, 2));
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "site-local";
  if ((b[0] & 0xfe) == 0xfc) return "unique-local";
  if (b[0] == 0xff) return "multicast";
  return std::nullopt;
}

// Called by libcurl instead of socket(2) for every connection it makes.
curl_socket_t guard_open_socket(void* user, curlsocktype purpose, curl_sockaddr* address) noexcept {
  auto* state = static_cast<GuardState*>(user);
  try {
    if (purpose == CURLSOCKTYPE_IPCXN) {
      const sockaddr* peer = &address->addr;
      const bool complete = (address->family == AF_INET && address->addrlen >= sizeof(sockaddr_in)) ||
                            (address->family == AF_INET6 && address->addrlen >= sizeof(sockaddr_in6));
      std::optional<std::string> reason;
      if (!complete) {
        reason = "not an IP address";
      } else {
        reason = state->policy->check ? state->policy->check(peer) : private_address_reason(peer);
      }
      if (reason) {
        GuardState::Refusal refusal{complete ? address_text(peer) : "a non-IP socket", *reason};
        bool known = false;
        for (const auto& seen : state->refused) known = known || seen.address == refusal.address;
        if (!known) state->refused.push_back(std::move(refusal));
        char* url = nullptr;
        if (state->refused_url.empty() && curl_easy_getinfo(state->handle, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK &&
            url) {
          state->refused_url = url;
          long redirects = 0;
          state->refused_after_redirect =
              curl_easy_getinfo(state->handle, CURLINFO_REDIRECT_COUNT, &redirects) == CURLE_OK && redirects > 0;
        }
        return CURL_SOCKET_BAD;
      }
    }
  } catch (...) {
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

}  // namespace

std::optional<std::string> private_address_reason(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    sockaddr_in v4;
    std::memcpy(&v4, address, sizeof v4);
    return v4_reason(ntohl(v4.sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 v6;
    std::memcpy(&v6, address, sizeof v6);
    Ipv6Bytes bytes;
    std::memcpy(bytes.data(), &v6.sin6_addr, bytes.size());
    return v6_reason(bytes);
  }
  return "not an IP address";
}

std::optional<std::string> private_address_reason(std::string_view numeric_address) {
  const std::string text(numeric_address);
  sockaddr_in v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    return private_address_reason(reinterpret_cast<const sockaddr*>(&v4));
  }
  sockaddr_in6 v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    return private_address_reason(reinterpret_cast<const sockaddr*>(&v6));
  }
  return std::nullopt;
}

std::string address_text(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET) {
    sockaddr_in v4;
    std::memcpy(&v4, address, sizeof v4);
    if (::inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text)) return text;
  } else if (address->sa_family == AF_INET6) {
    sockaddr_in6 v6;
    std::memcpy(&v6, address, sizeof v6);
    if (::inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text)) return text;
  }
  return "an address of family " + std::to_string(address->sa_family);
}

void guard_curl_handle(CURL* handle, const UrlGuardPolicy& policy, GuardState& state) {
  state.policy = &policy;
  state.handle = handle;
  if (policy.allow_private) return;
  curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, guard_open_socket);
  curl_easy_setopt(handle, CURLOPT_OPENSOCKETDATA, &state);
  // An empty proxy overrides the proxy environment variables.
  curl_easy_setopt(handle, CURLOPT_PROXY, "");
}

util::Error refusal_error(std::string_view url, const GuardState& state) {
  // "127.0.0.1 and ::1 (loopback)", "10.0.0.1 (private) and ::1 (loopback)".
  std::vector<std::pair<std::string, std::vector<std::string>>> by_reason;
  for (const auto& refusal : state.refused) {
    auto group = std::find_if(by_reason.begin(), by_reason.end(),
                              [&](const auto& entry) { return entry.first == refusal.reason; });
    if (group == by_reason.end()) group = by_reason.insert(by_reason.end(), {refusal.reason, {}});
    group->second.push_back(refusal.address);
  }
  const auto listed = [](const std::vector<std::string>& items) {
    std::string text;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i > 0) text += i + 1 == items.size() ? " and " : ", ";
      text += items[i];
    }
    return text;
  };
  std::vector<std::string> groups;
  for (const auto& [reason, addresses] : by_reason) groups.push_back(listed(addresses) + " (" + reason + ")");
  const std::string where = listed(groups);
  std::string message = "refusing to fetch " + std::string(url) + ": ";
  if (state.refused_after_redirect && !state.refused_url.empty()) {
    message += "it redirects to " + state.refused_url + ", which resolves to ";
  } else {
    message += "it resolves to ";
  }
  message += where +
             "; pass --allow-private-urls (or PIPELINE_ALLOW_PRIVATE_URLS=1) to allow private addresses";
  return util::fail(util::ErrorKind::bad_input, std::move(message), "private_address");
}

}  // namespace pipeline::net

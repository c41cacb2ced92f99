#include <doctest/doctest.h>

#include <netinet/in.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <curl/curl.h>

#include "lib/net/address_guard.hpp"
#include "tests/support/http_file_server.hpp"
#include "tests/support/scoped_env.hpp"

namespace net = pipeline::net;
namespace testing = pipeline::testing;
using pipeline::util::ErrorKind;

namespace {

struct AddressCase {
  const char* address;
  const char* reason;  // nullptr: public
};

// Checks private_address_reason's answer for each address.
void check_reasons(const std::vector<AddressCase>& cases) {
  for (const auto& c : cases) {
    CAPTURE(c.address);
    const auto reason = net::private_address_reason(std::string(c.address));
    if (c.reason) {
      REQUIRE(reason.has_value());
      CHECK(*reason == c.reason);
    } else {
      CHECK_FALSE(reason.has_value());
    }
  }
}

// One guarded GET of `url`; what curl returned and what the guard saw.
struct GuardedFetch {
  CURLcode code = CURLE_OK;
  net::GuardState state;
};

std::size_t discard_body(char*, std::size_t size, std::size_t count, void*) { return size * count; }

std::unique_ptr<GuardedFetch> guarded_get(const std::string& url, const net::UrlGuardPolicy& policy) {
  auto fetch = std::make_unique<GuardedFetch>();
  CURL* handle = curl_easy_init();
  REQUIRE(handle);
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, discard_body);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT, 20L);
  net::guard_curl_handle(handle, policy, fetch->state);
  fetch->code = curl_easy_perform(handle);
  curl_easy_cleanup(handle);
  return fetch;
}

// Refuses the one server listening on `port`, whatever its address.
net::UrlGuardPolicy refuse_port(int port) {
  net::UrlGuardPolicy policy;
  policy.check = [port](const sockaddr* address) -> std::optional<std::string> {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    if (address->sa_family == AF_INET && ntohs(v4->sin_port) == port) return "the refused test server";
    return std::nullopt;
  };
  return policy;
}

}  // namespace

TEST_CASE("private_address_reason names every non-public IPv4 range and passes public ones") {
  const std::vector<AddressCase> cases = {
      {"0.0.0.0", "unspecified"},       {"0.1.2.3", "unspecified"},          {"127.0.0.1", "loopback"},
      {"127.255.255.254", "loopback"},  {"10.0.0.1", "private"},             {"10.255.255.255", "private"},
      {"172.16.0.1", "private"},        {"172.31.255.255", "private"},       {"192.168.1.1", "private"},
      {"169.254.169.254", "link-local"}, {"100.64.0.1", "carrier-grade NAT"}, {"100.127.255.255", "carrier-grade NAT"},
      {"224.0.0.1", "multicast"},       {"239.255.255.255", "multicast"},    {"255.255.255.255", "broadcast"},
      {"240.0.0.1", "reserved"},        {"8.8.8.8", nullptr},                {"1.1.1.1", nullptr},
      {"172.15.255.255", nullptr},      {"172.32.0.0", nullptr},             {"192.167.255.255", nullptr},
      {"192.169.0.0", nullptr},         {"100.63.255.255", nullptr},         {"100.128.0.0", nullptr},
      {"169.253.255.255", nullptr},     {"11.0.0.0", nullptr},               {"126.255.255.255", nullptr},
      {"223.255.255.255", nullptr},
      {"198.18.0.1", "benchmarking"},   {"198.19.255.255", "benchmarking"},  {"198.17.255.255", nullptr},
      {"198.20.0.0", nullptr},          {"192.0.0.1", "IETF protocol assignments"},
      {"192.0.0.255", "IETF protocol assignments"},                          {"192.0.1.0", nullptr},
  };
  check_reasons(cases);
}

TEST_CASE("private_address_reason judges IPv6, and IPv4 carried inside IPv6 by its IPv4 address") {
  const std::vector<AddressCase> cases = {
      {"::", "unspecified"},
      {"::1", "loopback"},
      {"fe80::1", "link-local"},
      {"febf:ffff::1", "link-local"},
      {"fec0::1", "site-local"},
      {"fc00::1", "unique-local"},
      {"fd00:ec2::254", "unique-local"},  // a cloud metadata address
      {"ff02::1", "multicast"},
      {"::ffff:127.0.0.1", "loopback"},    // IPv4-mapped
      {"::ffff:169.254.169.254", "link-local"},
      {"::ffff:10.1.2.3", "private"},
      {"::127.0.0.1", "loopback"},  // IPv4-compatible
      {"::10.0.0.1", "private"},
      {"64:ff9b::7f00:1", "loopback"},  // NAT64 of 127.0.0.1
      {"64:ff9b::a9fe:a9fe", "link-local"},
      {"64:ff9b:1::1", "private"},       // local-use NAT64
      {"2002:7f00:1::", "loopback"},     // 6to4 of 127.0.0.1
      {"2002:c0a8:101::1", "private"},   // 6to4 of 192.168.1.1
      {"2606:4700:4700::1111", nullptr},
      {"2001:4860:4860::8888", nullptr},
      {"::ffff:8.8.8.8", nullptr},
      {"64:ff9b::808:808", nullptr},
      {"2002:808:808::1", nullptr},
      {"fe7f::1", nullptr},
      {"::ffff:0:127.0.0.1", "loopback"},  // SIIT, IPv4-translated
      {"::ffff:0:10.0.0.1", "private"},
      {"::ffff:0:198.18.0.1", "benchmarking"},
      {"::ffff:0:8.8.8.8", nullptr},
  };
  check_reasons(cases);
  CHECK_FALSE(net::private_address_reason(std::string("localhost")).has_value());
  CHECK_FALSE(net::private_address_reason(std::string("")).has_value());
}

TEST_CASE("address_text writes both families as inet_ntop does") {
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_addr.s6_addr[10] = 0xff;
  v6.sin6_addr.s6_addr[11] = 0xff;
  v6.sin6_addr.s6_addr[12] = 10;
  v6.sin6_addr.s6_addr[15] = 7;
  CHECK(net::address_text(reinterpret_cast<const sockaddr*>(&v6)) == "::ffff:10.0.0.7");
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_addr.s_addr = htonl(0x7f000001);
  CHECK(net::address_text(reinterpret_cast<const sockaddr*>(&v4)) == "127.0.0.1");
}

TEST_CASE("a guarded handle refuses loopback before the server sees a request") {
  testing::HttpFileServer server;
  server.serve("/x.pdf", "%PDF-1.4 body");
  const net::UrlGuardPolicy policy;
  const auto fetch = guarded_get(server.url("/x.pdf"), policy);
  CHECK(fetch->code == CURLE_COULDNT_CONNECT);
  CHECK(server.requests() == 0);
  REQUIRE(fetch->state.any_refused());
  const auto error = net::refusal_error(server.url("/x.pdf"), fetch->state);
  CHECK(error.kind == ErrorKind::bad_input);
  CHECK(error.code == "private_address");
  CHECK(error.message == "refusing to fetch " + server.url("/x.pdf") +
                             ": it resolves to 127.0.0.1 (loopback); pass --allow-private-urls (or "
                             "PIPELINE_ALLOW_PRIVATE_URLS=1) to allow private addresses");

  // The name localhost is refused for its address, not for its spelling.
  const std::string by_name = "http://localhost:" + std::to_string(server.port()) + "/x.pdf";
  const auto named = guarded_get(by_name, policy);
  CHECK(named->code != CURLE_OK);
  CHECK(server.requests() == 0);
  REQUIRE(named->state.any_refused());
  CHECK(net::refusal_error(by_name, named->state).message.find("(loopback)") != std::string::npos);

  net::UrlGuardPolicy allowed;
  allowed.allow_private = true;
  const auto fetched = guarded_get(server.url("/x.pdf"), allowed);
  CHECK(fetched->code == CURLE_OK);
  CHECK_FALSE(fetched->state.any_refused());
  CHECK(server.requests() == 1);
}

TEST_CASE("the guard checks every redirect hop and names the hop it refused") {
  testing::HttpFileServer first;
  testing::HttpFileServer refused;
  refused.serve("/inner.pdf", "%PDF-1.4 inner");
  first.redirect("/start.pdf", refused.url("/inner.pdf"));
  const auto policy = refuse_port(refused.port());
  const auto fetch = guarded_get(first.url("/start.pdf"), policy);
  CHECK(fetch->code == CURLE_COULDNT_CONNECT);
  CHECK(first.requests() == 1);
  CHECK(refused.requests() == 0);
  CHECK(fetch->state.refused_url == refused.url("/inner.pdf"));
  CHECK(net::refusal_error(first.url("/start.pdf"), fetch->state).message ==
        "refusing to fetch " + first.url("/start.pdf") + ": it redirects to " + refused.url("/inner.pdf") +
            ", which resolves to 127.0.0.1 (the refused test server); pass --allow-private-urls (or "
            "PIPELINE_ALLOW_PRIVATE_URLS=1) to allow private addresses");
}

TEST_CASE("without a redirect the message never says there was one, however curl spells the URL") {
  testing::HttpFileServer server;
  server.serve("/", "%PDF-1.4 body");
  const net::UrlGuardPolicy policy;
  // curl's effective URL of these gains a "/" or loses the capitals.
  for (const std::string& url : {"http://127.0.0.1:" + std::to_string(server.port()),
                                "HTTP://127.0.0.1:" + std::to_string(server.port()) + "/"}) {
    CAPTURE(url);
    const auto fetch = guarded_get(url, policy);
    REQUIRE(fetch->state.any_refused());
    const auto message = net::refusal_error(url, fetch->state).message;
    CHECK(message.find("redirects") == std::string::npos);
    CHECK(message.find(": it resolves to 127.0.0.1 (loopback)") != std::string::npos);
  }
}

TEST_CASE("a guarded handle ignores the proxy variables, which would hide the destination") {
  testing::HttpFileServer target;
  testing::HttpFileServer proxy;
  target.serve("/x.pdf", "%PDF-1.4 direct");
  const testing::ScopedEnv http_proxy("http_proxy", proxy.url(""));
  const testing::ScopedEnv no_proxy("no_proxy", std::nullopt);
  const testing::ScopedEnv no_proxy_upper("NO_PROXY", std::nullopt);

  // Guarded (here with a check that allows these loopback servers): direct.
  const auto policy = refuse_port(0);
  const auto guarded = guarded_get(target.url("/x.pdf"), policy);
  CHECK(guarded->code == CURLE_OK);
  CHECK(target.requests() == 1);
  CHECK(proxy.requests() == 0);

  // With private addresses allowed curl honours the variable as usual.
  net::UrlGuardPolicy allowed;
  allowed.allow_private = true;
  guarded_get(target.url("/x.pdf"), allowed);
  CHECK(proxy.requests() == 1);
  CHECK(target.requests() == 1);
}

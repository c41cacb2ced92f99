#include <doctest/doctest.h>

#include <string>

#include "lib/notify/webhook_url.hpp"
#include "lib/util/text.hpp"

using pipeline::notify::parse_webhook_url;
using pipeline::notify::redacted_url;
using pipeline::util::ErrorKind;

TEST_CASE("http and https URLs with a host are webhook URLs; the host comes without brackets") {
  auto plain = parse_webhook_url("http://127.0.0.1:8080/hook");
  REQUIRE(plain);
  CHECK(plain->url == "http://127.0.0.1:8080/hook");
  CHECK(plain->host == "127.0.0.1");
  CHECK(plain->redacted == "http://127.0.0.1:8080/hook");

  auto secure = parse_webhook_url("HTTPS://Hooks.Example.com/a/b?token=s3cr3t#frag");
  REQUIRE(secure);
  CHECK(pipeline::util::to_lower(secure->host) == "hooks.example.com");
  CHECK(secure->redacted.find("s3cr3t") == std::string::npos);
  CHECK(secure->redacted.find("frag") == std::string::npos);

  auto six = parse_webhook_url("http://[::1]:9000/");
  REQUIRE(six);
  CHECK(six->host == "::1");
}

TEST_CASE("other schemes, relative URLs, no host and credentials in the URL are bad input") {
  for (const std::string bad : {"ftp://example.com/hook", "file:///etc/passwd", "example.com/hook", "/hook", "",
                                "http://", "not a url", "gopher://example.com/"}) {
    auto parsed = parse_webhook_url(bad);
    INFO(bad);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().kind == ErrorKind::bad_input);
  }
  auto with_user = parse_webhook_url("https://alice:pa55word@example.com/hook?key=q");
  REQUIRE_FALSE(with_user);
  CHECK(with_user.error().message.find("Authorization") != std::string::npos);
  // The message names the URL without what it must not repeat.
  CHECK(with_user.error().message.find("pa55word") == std::string::npos);
  CHECK(with_user.error().message.find("alice") == std::string::npos);
  CHECK(with_user.error().message.find("key=q") == std::string::npos);
  CHECK(with_user.error().message.find("https://example.com/hook") != std::string::npos);
  CHECK_FALSE(parse_webhook_url("https://token@example.com/hook"));
}

TEST_CASE("redacted_url keeps scheme, host, port and path, and drops user, password, query and fragment") {
  CHECK(redacted_url("https://u:p@example.com:8443/x/y?sig=1&t=2#top") == "https://example.com:8443/x/y");
  CHECK(redacted_url("http://example.com") == "http://example.com/");
  CHECK(redacted_url("http://[::1]:9/h") == "http://[::1]:9/h");
  CHECK(redacted_url("::nonsense::") == "(not a URL)");
}

TEST_CASE("check_webhook_address refuses hosts that are or resolve only to private addresses, unless allowed") {
  using pipeline::notify::check_webhook_address;
  for (const std::string url : {"http://127.0.0.1:9/hook?k=v", "http://localhost:9/hook", "http://[::1]:9/hook",
                                "http://10.1.2.3/hook", "http://169.254.169.254/latest/meta-data/",
                                "http://[::ffff:192.168.0.1]/hook"}) {
    INFO(url);
    auto parsed = parse_webhook_url(url);
    REQUIRE(parsed);
    auto checked = check_webhook_address(*parsed, false);
    REQUIRE_FALSE(checked);
    CHECK(checked.error().kind == ErrorKind::bad_input);
    CHECK(checked.error().message.rfind("refusing to post webhooks to ", 0) == 0);
    CHECK(checked.error().message.find("--allow-private-urls") != std::string::npos);
    CHECK(checked.error().message.find("k=v") == std::string::npos);
    CHECK(check_webhook_address(*parsed, true));
  }
  auto loopback = check_webhook_address(*parse_webhook_url("http://127.0.0.1:9/hook"), false);
  REQUIRE_FALSE(loopback);
  CHECK(loopback.error().message.find("127.0.0.1 (loopback)") != std::string::npos);
  // A public address, and a name that resolves to nothing now (the guard checks each delivery).
  CHECK(check_webhook_address(*parse_webhook_url("https://93.184.216.34/hook"), false));
  CHECK(check_webhook_address(*parse_webhook_url("https://no-such-host.invalid/hook"), false));
}

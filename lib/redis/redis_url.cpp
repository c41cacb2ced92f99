#include "lib/redis/redis_url.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "lib/util/text.hpp"

namespace pipeline::redis {
namespace {

using util::ErrorKind;

util::Error bad_redis_url(const std::string& why) {
  return util::fail(ErrorKind::bad_input,
                    "the Redis URL is not valid: " + why +
                         " (expected redis://[user:password@]host[:port][/db][?cluster=1] or rediss://... for TLS)");
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `text` with %XX escapes decoded; nullopt for a broken escape.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_digit(text[i + 1]);
    const int low = hex_digit(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

// A decimal number within [low, high], the whole of `text`.
std::optional<int> parse_number(std::string_view text, int low, int high) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < low || value > high) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

bool is_redis_url(std::string_view text) {
  return util::starts_with_ignoring_case(text, "redis://") || util::starts_with_ignoring_case(text, "rediss://");
}

std::string hide_passwords(std::string_view text) {
  std::string hidden(text);
  const std::string lower = util::to_lower(text);
  for (auto at = lower.find("redis"); at != std::string::npos; at = lower.find("redis", at + 1)) {
    auto start = at + 5;
    if (start < lower.size() && lower[start] == 's') ++start;
    if (start >= lower.size() || lower[start] != ':') continue;
    ++start;
    while (start < lower.size() && lower[start] == '/') ++start;
    const auto end = std::min(lower.find_first_of("/ \t\n", start), lower.size());
    // As in parse_redis_url, the last '@' ends the userinfo.
    const auto userinfo_end = lower.rfind('@', end == 0 ? 0 : end - 1);
    if (userinfo_end == std::string::npos || userinfo_end < start) continue;
    const auto colon = lower.find(':', start);
    const auto password = colon != std::string::npos && colon < userinfo_end ? colon + 1 : start;
    for (auto i = password; i < userinfo_end; ++i) hidden[i] = '*';
  }
  return hidden;
}

std::string RedisUrl::masked() const {
  std::string userinfo;
  if (!user.empty() || !password.empty()) userinfo = user + (password.empty() ? "" : ":***") + "@";
  const std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return fmt::format("{}://{}{}:{}/{}{}", tls ? "rediss" : "redis", userinfo, shown_host, port, db,
                     cluster ? "?cluster=1" : "");
}

util::Expected<RedisUrl> parse_redis_url(std::string_view text) {
  RedisUrl url;
  if (util::starts_with_ignoring_case(text, "rediss://")) {
    url.tls = true;
    text.remove_prefix(9);
  } else if (util::starts_with_ignoring_case(text, "redis://")) {
    text.remove_prefix(8);
  } else {
    return bad_redis_url("it must start with redis:// or rediss://");
  }
  if (text.find('#') != std::string_view::npos) return bad_redis_url("a fragment (#...) is not supported");
  if (const auto question = text.find('?'); question != std::string_view::npos) {
    std::string_view query = text.substr(question + 1);
    text = text.substr(0, question);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string_view option = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      const auto equals = option.find('=');
      const std::string name = util::to_lower(option.substr(0, equals));
      const std::string value = util::to_lower(equals == std::string_view::npos ? "1" : option.substr(equals + 1));
      if (name != "cluster") return bad_redis_url("the only query option is cluster=1");
      if (value == "1" || value == "true" || value == "yes") {
        url.cluster = true;
      } else if (value != "0" && value != "false" && value != "no") {
        return bad_redis_url("cluster= takes 1 or 0");
      }
    }
  }

  const auto slash = text.find('/');
  std::string_view authority = text.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view() : text.substr(slash + 1);

  // The password may hold '@' only percent-encoded, so the last '@' ends the userinfo.
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    const auto colon = userinfo.find(':');
    const auto user = percent_decode(colon == std::string_view::npos ? std::string_view() : userinfo.substr(0, colon));
    const auto password =
        percent_decode(colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1));
    if (!user || !password) return bad_redis_url("a %-escape in the user or password is broken");
    url.user = *user;
    url.password = *password;
  }

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad_redis_url("an IPv6 address misses its closing ']'");
    url.host = std::string(authority.substr(1, close - 1));
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return bad_redis_url("unexpected text after the IPv6 address");
    if (!rest.empty()) port_text = rest.substr(1);
    if (!rest.empty() && port_text.empty()) return bad_redis_url("the port after ':' is missing");
  } else {
    const auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad_redis_url("the port after ':' is missing");
    }
  }
  if (url.host.empty()) return bad_redis_url("the host is missing");
  if (url.host.find_first_of(" \t\r\n/\\") != std::string::npos) return bad_redis_url("the host holds a space or slash");
  if (!port_text.empty()) {
    const auto port = parse_number(port_text, 1, 65535);
    if (!port) return bad_redis_url("the port must be a number from 1 to 65535");
    url.port = *port;
  }
  if (!path.empty()) {
    const auto db = parse_number(path, 0, 1 << 20);
    if (!db) return bad_redis_url("the database after the host must be a number, e.g. /0");
    url.db = *db;
  }
  if (url.cluster && url.db != 0) return bad_redis_url("a Redis Cluster has only database 0");
  return url;
}

}  // namespace pipeline::redis

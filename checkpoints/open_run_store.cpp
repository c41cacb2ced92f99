#include "checkpoints/open_run_store.hpp"

#include <cctype>

#include <fmt/format.h>

#include "checkpoints/redis_run_store.hpp"
#include "checkpoints/redis_stage_cache.hpp"
#include "lib/util/file_io.hpp"
#include "lib/util/text.hpp"

namespace pipeline::checkpoints {
namespace {

// The scheme of "<scheme>://...", lowercased; empty for a path.
std::string url_scheme(std::string_view url) {
  const auto end = url.find("://");
  if (end == std::string_view::npos || end == 0) return {};
  for (const char c : url.substr(0, end)) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
                         c == '-' || c == '.';
    if (!allowed) return {};
  }
  return util::to_lower(url.substr(0, end));
}

// Why `url` looks like a Redis URL typed wrong, or empty when it does not.
// Such a value is never taken as a folder: that would print its password in
// listings and make a directory named after it.
std::string mistyped_redis_url(std::string_view url) {
  if (!url.empty() && (std::isspace(static_cast<unsigned char>(url.front())) ||
                       std::isspace(static_cast<unsigned char>(url.back())))) {
    return "it begins or ends with white space";
  }
  for (const std::string_view scheme : {"rediss", "redis"}) {
    if (!util::starts_with_ignoring_case(url, scheme)) continue;
    const auto rest = url.substr(scheme.size());
    if (rest.rfind("://", 0) == 0) return {};
    if (rest.rfind(":", 0) == 0 || rest.rfind("/", 0) == 0) {
      return fmt::format("it begins with \"{}{}\" but not \"{}://\"", scheme, rest.substr(0, 1), scheme);
    }
  }
  return {};
}

}  // namespace

util::Expected<StoreLocation> parse_store_url(std::string_view url) {
  StoreLocation location;
  if (const auto why = mistyped_redis_url(url); !why.empty()) {
    return util::fail(util::ErrorKind::usage,
                      fmt::format("--store looks like a mistyped Redis URL: {} (the value is not repeated here, as it "
                                  "may hold a password); write redis://[user:password@]host:port/db or rediss://... "
                                  "for TLS (a folder so named: ./redis...)",
                                  why));
  }
  if (redis::is_redis_url(url)) {
    auto parsed = redis::parse_redis_url(url);
    if (!parsed) return parsed.error();
    location.kind = StoreLocation::Kind::redis;
    location.redis = std::move(*parsed);
    return location;
  }
  if (util::starts_with_ignoring_case(url, "file://")) {
    url.remove_prefix(7);
  } else if (util::starts_with_ignoring_case(url, "file:")) {
    url.remove_prefix(5);
  } else if (const auto scheme = url_scheme(url); !scheme.empty()) {
    return util::fail(util::ErrorKind::usage,
                      fmt::format("--store: there is no store of the scheme {}://; use a folder (a path or file:DIR), "
                                  "redis://host:port/db or rediss://host:port/db",
                                  scheme));
  }
  if (url.empty()) return util::fail(util::ErrorKind::usage, "--store: the folder is missing");
  location.folder = std::string(url);
  return location;
}

util::Expected<std::string> read_store_url_file(const std::filesystem::path& path) {
  auto text = util::read_file(path, {.max_bytes = 4096});
  if (!text) return util::fail(util::ErrorKind::bad_input, "--store-file: " + text.error().message);
  const auto first = text->find_first_not_of(" \t\r\n");
  const auto last = text->find_last_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return util::fail(util::ErrorKind::bad_input, fmt::format("--store-file: {} is empty", path.string()));
  }
  std::string url = text->substr(first, last - first + 1);
  if (url.find_first_of("\r\n") != std::string::npos) {
    return util::fail(util::ErrorKind::bad_input,
                      fmt::format("--store-file: {} holds more than one line; it holds the store URL alone",
                                  path.string()));
  }
  return url;
}

redis::ConnectOptions redis_connect_options(const redis::RedisUrl& url, const StoreOptions& options) {
  redis::ConnectOptions connect;
  connect.url = url;
  connect.ca_file = options.redis_ca;
  connect.connect_timeout = options.connect_timeout;
  return connect;
}

util::Expected<std::unique_ptr<RunStore>> open_run_store(std::string_view url, const StoreOptions& options) {
  auto location = parse_store_url(url);
  if (!location) return location.error();
  if (location->kind == StoreLocation::Kind::folder) return make_file_run_store(location->folder);
  RedisStoreOptions redis;
  redis.connect = redis_connect_options(location->redis, options);
  redis.lease_ttl = options.lease_ttl;
  return std::unique_ptr<RunStore>(make_redis_run_store(std::move(redis)));
}

util::Expected<std::unique_ptr<StageCache>> open_store_stage_cache(std::string_view url, const StoreOptions& options) {
  auto location = parse_store_url(url);
  if (!location) return location.error();
  if (location->kind == StoreLocation::Kind::folder) return std::unique_ptr<StageCache>();
  return make_redis_stage_cache(redis_connect_options(location->redis, options));
}

}  // namespace pipeline::checkpoints

#include "checkpoints/open_run_store.hpp"

#include <fmt/format.h>

#include "checkpoints/redis_run_store.hpp"
#include "checkpoints/redis_stage_cache.hpp"
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

}  // namespace

util::Expected<StoreLocation> parse_store_url(std::string_view url) {
  StoreLocation location;
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

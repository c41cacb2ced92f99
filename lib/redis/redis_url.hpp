#pragma once

#include <string>
#include <string_view>

#include "lib/util/expected.hpp"

namespace pipeline::redis {

// Where a Redis server is and how to log in: the parts of
// redis://[user:password@]host[:port][/db] or rediss://... (TLS).
struct RedisUrl {
  bool tls = false;
  std::string user;      // empty: the default user
  std::string password;  // empty: no AUTH; never printed, see masked()
  std::string host;      // a name, an IPv4 address or an IPv6 address without brackets
  int port = 6379;
  int db = 0;
  // A Redis Cluster (?cluster=1): the host is one node to learn the others
  // from, keys are routed by slot and MOVED/ASK redirections followed.
  bool cluster = false;

  // The URL for people and logs, the password replaced by "***":
  // "rediss://default:***@host:6379/0", "...:7000/0?cluster=1". Port and db
  // are always shown.
  std::string masked() const;
};

// True when `text` starts with redis:// or rediss:// (any case).
bool is_redis_url(std::string_view text);

// `text` with the password of every Redis URL in it (redis:// or rediss://,
// typed with any number of slashes) replaced by '*' byte for byte, so that
// the result can overwrite a process's argument in place and keep the
// password out of /proc/<pid>/cmdline: "--store=redis://u:***@h:6379/0".
std::string hide_passwords(std::string_view text);

// Parses a Redis URL. The one query option is cluster=1 (or true, yes;
// 0, false, no turn it off); a cluster has only database 0. User and password are percent-decoded; a userinfo
// without ':' is the password alone, as redis-cli reads it. Errors are
// bad_input and never repeat the URL, which may hold a password.
util::Expected<RedisUrl> parse_redis_url(std::string_view text);

}  // namespace pipeline::redis

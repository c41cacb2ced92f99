#include <doctest/doctest.h>

#include "lib/redis/redis_url.hpp"

using pipeline::redis::parse_redis_url;
using pipeline::redis::RedisUrl;
using pipeline::util::ErrorKind;

namespace {

RedisUrl parsed_redis_url(const std::string& text) {
  auto url = parse_redis_url(text);
  REQUIRE_MESSAGE(url.has_value(), url.error().message);
  return *url;
}

}  // namespace

TEST_CASE("a bare host gets the default port and database") {
  const auto url = parsed_redis_url("redis://cache.internal");
  CHECK_FALSE(url.tls);
  CHECK(url.host == "cache.internal");
  CHECK(url.port == 6379);
  CHECK(url.db == 0);
  CHECK(url.user.empty());
  CHECK(url.password.empty());
  CHECK(url.masked() == "redis://cache.internal:6379/0");
}

TEST_CASE("rediss:// is TLS; user, password, port and database are read") {
  const auto url = parsed_redis_url("rediss://default:s3cret@eu1.example.upstash.io:6380/3");
  CHECK(url.tls);
  CHECK(url.user == "default");
  CHECK(url.password == "s3cret");
  CHECK(url.host == "eu1.example.upstash.io");
  CHECK(url.port == 6380);
  CHECK(url.db == 3);
}

TEST_CASE("the scheme is read in any case and a trailing slash means database 0") {
  const auto url = parsed_redis_url("REDISS://host:7000/");
  CHECK(url.tls);
  CHECK(url.port == 7000);
  CHECK(url.db == 0);
}

TEST_CASE("user and password are percent-decoded; the last @ ends the userinfo") {
  const auto url = parsed_redis_url("redis://app%2Dworker:p%40ss%3Aw%25rd@10.0.0.5:6379/1");
  CHECK(url.user == "app-worker");
  CHECK(url.password == "p@ss:w%rd");
  CHECK(url.host == "10.0.0.5");
  const auto raw_at = parsed_redis_url("redis://:a@b@host/0");
  CHECK(raw_at.password == "a@b");
  CHECK(raw_at.host == "host");
}

TEST_CASE("a userinfo without a colon is the password alone, as redis-cli reads it") {
  const auto url = parsed_redis_url("redis://onlypassword@host");
  CHECK(url.user.empty());
  CHECK(url.password == "onlypassword");
  const auto empty_user = parsed_redis_url("redis://:pw@host");
  CHECK(empty_user.user.empty());
  CHECK(empty_user.password == "pw");
}

TEST_CASE("IPv6 hosts are written in brackets") {
  const auto url = parsed_redis_url("redis://[::1]:6390/2");
  CHECK(url.host == "::1");
  CHECK(url.port == 6390);
  CHECK(url.db == 2);
  CHECK(url.masked() == "redis://[::1]:6390/2");
}

TEST_CASE("masked() hides the password and keeps the user") {
  CHECK(parsed_redis_url("rediss://default:hunter2@h:1/0").masked() == "rediss://default:***@h:1/0");
  CHECK(parsed_redis_url("redis://:hunter2@h").masked() == "redis://:***@h:6379/0");
  CHECK(parsed_redis_url("redis://alice:@h").masked() == "redis://alice@h:6379/0");
}

TEST_CASE("invalid URLs are bad input and never repeat the password") {
  const char* secret = "Pa55-w0rd-XYZ";
  for (const std::string& text :
       {std::string("http://host"), std::string("redis://"), std::string("redis://:") + secret + "@",
        std::string("redis://:") + secret + "@host:0", std::string("redis://:") + secret + "@host:70000",
        std::string("redis://:") + secret + "@host:port", std::string("redis://:") + secret + "@host/db",
        std::string("redis://:") + secret + "@host/-1", std::string("redis://:") + secret + "%zz@host",
        std::string("redis://:") + secret + "%4@host", std::string("redis://:") + secret + "@host:6379/0?ssl=true",
        std::string("redis://:") + secret + "@[::1", std::string("redis://:") + secret + "@host:"}) {
    CAPTURE(text);
    auto url = parse_redis_url(text);
    REQUIRE_FALSE(url.has_value());
    CHECK(url.error().kind == ErrorKind::bad_input);
    CHECK(url.error().message.find(secret) == std::string::npos);
    CHECK(url.error().message.find("redis://") != std::string::npos);
  }
}

TEST_CASE("is_redis_url tells store URLs from folder paths") {
  CHECK(pipeline::redis::is_redis_url("redis://h"));
  CHECK(pipeline::redis::is_redis_url("Rediss://h"));
  CHECK_FALSE(pipeline::redis::is_redis_url("./runs"));
  CHECK_FALSE(pipeline::redis::is_redis_url("file:runs"));
  CHECK_FALSE(pipeline::redis::is_redis_url("redis:/h"));
}

TEST_CASE("hide_passwords blanks every Redis password in a text, byte for byte, typos included") {
  using pipeline::redis::hide_passwords;
  CHECK(hide_passwords("rediss://default:S3CRET@host:6380/0") == "rediss://default:******@host:6380/0");
  CHECK(hide_passwords("--store=redis://:pw@h") == "--store=redis://:**@h");
  CHECK(hide_passwords("redis://S3CRET@h:6379") == "redis://******@h:6379");  // the password alone
  CHECK(hide_passwords("REDIS:/u:S3CRET@h/0") == "REDIS:/u:******@h/0");
  CHECK(hide_passwords("redis://u:p%40ss@h") == "redis://u:******@h");
  CHECK(hide_passwords("redis://h:6379/0") == "redis://h:6379/0");
  CHECK(hide_passwords("./runs") == "./runs");
  CHECK(hide_passwords("redis") == "redis");
  CHECK(hide_passwords("a redis://u:x@h b rediss://v:yy@i") == "a redis://u:*@h b rediss://v:**@i");
}

TEST_CASE("?cluster=1 names a Redis Cluster; it has only database 0 and is shown in the masked URL") {
  const auto url = parsed_redis_url("rediss://:pw@node1.example:7000?cluster=1");
  CHECK(url.cluster);
  CHECK(url.tls);
  CHECK(url.port == 7000);
  CHECK(url.masked() == "rediss://:***@node1.example:7000/0?cluster=1");
  CHECK(parsed_redis_url("redis://h:7000/0?cluster=yes").cluster);
  CHECK(parsed_redis_url("redis://h:7000/0?CLUSTER=true").cluster);
  CHECK_FALSE(parsed_redis_url("redis://h:7000/0?cluster=0").cluster);
  CHECK_FALSE(parsed_redis_url("redis://h:7000/0").cluster);
  for (const char* bad : {"redis://h:7000/2?cluster=1", "redis://h/0?cluster=maybe", "redis://h/0?timeout=5",
                          "redis://h/0#frag"}) {
    CAPTURE(bad);
    auto refused = parse_redis_url(bad);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().kind == ErrorKind::bad_input);
  }
}

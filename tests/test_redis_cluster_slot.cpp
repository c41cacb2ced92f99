#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "lib/redis/cluster_slot.hpp"
#include "tests/support/redis_server.hpp"

using pipeline::redis::crc16_xmodem;
using pipeline::redis::hash_tag;
using pipeline::redis::key_slot;

TEST_CASE("CRC16 is the XMODEM variant of the cluster spec: \"123456789\" gives 0x31C3") {
  CHECK(crc16_xmodem("123456789") == 0x31C3);
  CHECK(crc16_xmodem("") == 0);
  CHECK(key_slot("123456789") == 0x31C3 % 16384);
}

TEST_CASE("hash tags: the text between the first { and the next }, when not empty") {
  // The examples of the Redis Cluster specification.
  CHECK(hash_tag("{user1000}.following") == "user1000");
  CHECK(key_slot("{user1000}.following") == key_slot("{user1000}.followers"));
  CHECK(hash_tag("foo{}{bar}") == "foo{}{bar}");
  CHECK(hash_tag("foo{{bar}}zap") == "{bar");
  CHECK(hash_tag("foo{bar}{zap}") == "bar");
  CHECK(hash_tag("no tag") == "no tag");
  CHECK(hash_tag("open{only") == "open{only");
  CHECK(key_slot("pipeline:{run:abc}:checkpoint") == key_slot("pipeline:{run:abc}:chunk:1f2e:0"));
  CHECK(key_slot("pipeline:{run:abc}:job") == key_slot("run:abc"));
}

TEST_CASE("key_slot agrees with CLUSTER KEYSLOT of a real cluster-enabled redis-server") {
  pipeline::testing::RedisServerOptions options;
  options.extra_args = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"};
  pipeline::testing::RedisServer server(options);
  std::vector<std::string> keys{"foo", "bar", "somekey", "{user1000}.following", "foo{}{bar}", "foo{{bar}}zap",
                                "foo{bar}{zap}", "pipeline:{queue}:jobs:normal", "pipeline:cache:stage:{00ff}", ""};
  std::mt19937 random(7);
  for (int i = 0; i < 200; ++i) {
    std::string key(static_cast<std::size_t>(random() % 24), '\0');
    for (auto& c : key) c = "ab{}:xyz\x01\xff"[random() % 10];
    keys.push_back(key);
  }
  auto connection = server.connect();
  for (const auto& key : keys) {
    CAPTURE(key);
    auto reply = connection->command({"CLUSTER", "KEYSLOT", key});
    REQUIRE(reply.has_value());
    REQUIRE(reply->is_integer());
    CHECK(key_slot(key) == reply->integer);
  }
}

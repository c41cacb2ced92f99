#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "lib/redis/cluster_router.hpp"
#include "lib/redis/cluster_slot.hpp"
#include "lib/redis/redis_script.hpp"
#include "tests/support/redis_cluster.hpp"

using pipeline::redis::command_slot;
using pipeline::redis::Connection;
using pipeline::redis::key_slot;
using pipeline::testing::RedisCluster;
using pipeline::testing::RedisClusterOptions;

namespace {

RedisClusterOptions three_masters() {
  RedisClusterOptions options;
  options.replicas_per_master = 0;
  return options;
}

std::string node_id(RedisCluster& cluster, pipeline::testing::RedisServer& node) {
  return cluster.command_on(node, {"CLUSTER", "MYID"}).text;
}

}  // namespace

TEST_CASE("command_slot finds the first key of each kind of command") {
  CHECK(command_slot({"GET", "a{x}"}) == key_slot("x"));
  CHECK(command_slot({"EVALSHA", "abc", "2", "k{t}", "other"}) == key_slot("t"));
  CHECK_FALSE(command_slot({"EVALSHA", "abc", "0", "arg"}).has_value());
  CHECK(command_slot({"XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "BLOCK", "5", "STREAMS", "s{q}", "s2{q}", ">", ">"}) ==
        key_slot("q"));
  CHECK(command_slot({"XGROUP", "CREATE", "s{q}", "g", "0"}) == key_slot("q"));
  CHECK(command_slot({"MEMORY", "USAGE", "m"}) == key_slot("m"));
  for (const char* keyless : {"PING", "info", "SCAN", "CLUSTER", "MULTI"}) CHECK_FALSE(command_slot({keyless}).has_value());
}

TEST_CASE("a cluster connection puts each key on its slot's master and keeps a pipeline's order") {
  RedisCluster cluster(three_masters());
  Connection connection(cluster.connect_options());
  std::vector<pipeline::redis::Command> writes;
  for (int i = 0; i < 60; ++i) writes.push_back({"SET", "key:" + std::to_string(i), "value " + std::to_string(i)});
  auto written = connection.pipeline(writes);
  REQUIRE_MESSAGE(written.has_value(), written.error().message);
  for (const auto& reply : *written) CHECK(reply.is_ok());
  std::vector<pipeline::redis::Command> reads;
  for (int i = 59; i >= 0; --i) reads.push_back({"GET", "key:" + std::to_string(i)});
  auto read = connection.pipeline(reads);
  REQUIRE(read.has_value());
  std::set<int> owners;
  for (int i = 0; i < 60; ++i) {
    const std::string key = "key:" + std::to_string(59 - i);
    CHECK((*read)[static_cast<std::size_t>(i)].text == "value " + std::to_string(59 - i));
    // The key is on the master the slot map names, and only there.
    auto& owner = cluster.master_of(key_slot(key));
    owners.insert(owner.port());
    CHECK(cluster.command_on(owner, {"GET", key}).text == "value " + std::to_string(59 - i));
  }
  CHECK(owners.size() == 3);
  auto keys = connection.scan_keys("key:*");
  REQUIRE(keys.has_value());
  CHECK(keys->size() == 60);
  // A script whose keys share a hash tag runs on their master.
  const pipeline::redis::Script script("redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[2])");
  auto scripted = script.run(connection, {"{t}a", "key:{t}"}, {"x"});
  REQUIRE(scripted.has_value());
  CHECK_FALSE(scripted->is_error());
  CHECK(connection.command({"GET", "{t}a"})->text == "x");
}

TEST_CASE("ASK during a slot's migration and MOVED after it are followed") {
  RedisCluster cluster(three_masters());
  Connection connection(cluster.connect_options());
  const std::string key = "{moving}key";
  const int slot = key_slot(key);
  REQUIRE(connection.command({"SET", key, "here"})->is_ok());
  REQUIRE(connection.command({"SET", "{moving}other", "stays"})->is_ok());
  auto& source = cluster.master_of(slot);
  pipeline::testing::RedisServer* target = nullptr;
  for (auto& node : cluster.nodes()) {
    if (node->port() != source.port()) target = node.get();
  }
  REQUIRE(target);
  const std::string source_id = node_id(cluster, source);
  const std::string target_id = node_id(cluster, *target);
  REQUIRE(cluster.command_on(*target, {"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", source_id}).is_ok());
  REQUIRE(cluster.command_on(source, {"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", target_id}).is_ok());
  auto migrated = cluster.command_on(source, {"MIGRATE", "127.0.0.1", std::to_string(target->port()), "", "0", "5000",
                                              "KEYS", key});
  REQUIRE(migrated.is_ok());
  // The source has no such key any more: it answers ASK, and the target
  // serves the key only after ASKING.
  CHECK(cluster.command_on(source, {"GET", key}).error_code() == "ASK");
  auto asked = connection.command({"GET", key});
  REQUIRE(asked.has_value());
  CHECK(asked->text == "here");
  CHECK(connection.command({"GET", "{moving}other"})->text == "stays");

  REQUIRE(cluster.command_on(source, {"MIGRATE", "127.0.0.1", std::to_string(target->port()), "", "0", "5000", "KEYS",
                                      "{moving}other"})
              .is_ok());
  for (auto& node : cluster.nodes()) {
    REQUIRE(cluster.command_on(*node, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", target_id}).is_ok());
  }
  // The connection's map still names the source, which answers MOVED now.
  CHECK(cluster.command_on(source, {"GET", key}).error_code() == "MOVED");
  auto moved = connection.command({"GET", key});
  REQUIRE(moved.has_value());
  CHECK(moved->text == "here");
  auto written = connection.command({"SET", "{moving}third", "new"});
  REQUIRE(written.has_value());
  CHECK(written->is_ok());
  CHECK(cluster.command_on(*target, {"GET", "{moving}third"}).text == "new");
}

TEST_CASE("rediss://...?cluster=1 reaches a TLS-only cluster and checks every node's certificate") {
  pipeline::testing::TempDir dir;
  RedisClusterOptions options = three_masters();
  options.tls = true;
  options.tls_files = pipeline::testing::make_test_certificates(dir.path() + "/tls", {"IP:127.0.0.1"});
  RedisCluster cluster(options);
  Connection connection(cluster.connect_options());
  for (int i = 0; i < 30; ++i) {
    auto written = connection.command({"SET", "tls:" + std::to_string(i), std::to_string(i)});
    REQUIRE_MESSAGE(written.has_value(), written.error().message);
    CHECK(written->is_ok());
  }
  auto keys = connection.scan_keys("tls:*");
  REQUIRE(keys.has_value());
  CHECK(keys->size() == 30);
  // Without the test CA, no node is trusted.
  auto untrusted_options = cluster.connect_options();
  untrusted_options.ca_file.clear();
  Connection untrusted(untrusted_options);
  auto refused = untrusted.command({"GET", "tls:1"});
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == "redis_tls_verify");
}

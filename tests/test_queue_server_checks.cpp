#include <doctest/doctest.h>

#include "lib/queue/server_checks.hpp"
#include "tests/support/redis_server.hpp"

using namespace pipeline::queue;
using pipeline::testing::RedisServer;
using pipeline::testing::RedisServerOptions;

TEST_CASE("a server that evicts keys is refused; one without persistence is reported") {
  RedisServerOptions evicting;
  evicting.maxmemory_policy = "allkeys-lru";
  RedisServer lru(evicting);
  auto connection = lru.connect();
  const auto fitness = check_server(*connection);
  REQUIRE(fitness.has_value());
  CHECK(fitness->maxmemory_policy == "allkeys-lru");
  CHECK_FALSE(fitness->persistent);
  const auto refusal = eviction_refusal(*fitness, "redis://127.0.0.1");
  REQUIRE(refusal.has_value());
  CHECK(refusal->find("allkeys-lru") != std::string::npos);

  RedisServerOptions durable;
  durable.appendonly = true;
  RedisServer aof(durable);
  auto aof_connection = aof.connect();
  const auto aof_fitness = check_server(*aof_connection);
  REQUIRE(aof_fitness.has_value());
  CHECK(aof_fitness->persistent);
  CHECK_FALSE(eviction_refusal(*aof_fitness, "x").has_value());
}

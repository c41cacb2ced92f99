#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "checkpoints/redis_stage_cache.hpp"
#include "lib/util/sha256.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/stage_cache_checks.hpp"

using namespace pipeline;
using testing::RedisServer;

TEST_CASE("the Redis stage cache keeps and gives back entries by fingerprint") {
  RedisServer server;
  auto cache = checkpoints::make_redis_stage_cache(server.connect_options());
  testing::check_stage_cache_round_trip(*cache);
  CHECK(cache->location().find(server.connect_options().url.masked()) == 0);
  const auto entry = testing::sample_cache_entry("one");
  CHECK(server.command({"EXISTS", "pipeline:cache:stage:" + entry.fingerprint}).integer == 1);
}

TEST_CASE("two caches on the same Redis share their entries, as workers on two machines do") {
  RedisServer server;
  auto first = checkpoints::make_redis_stage_cache(server.connect_options());
  auto second = checkpoints::make_redis_stage_cache(server.connect_options());
  const auto entry = testing::sample_cache_entry("shared");
  REQUIRE(first->put(entry));
  auto found = second->find(entry.fingerprint);
  REQUIRE(found);
  CHECK(found->output == entry.output);
  // Another prefix is another cache.
  auto elsewhere = checkpoints::make_redis_stage_cache(server.connect_options(), "tenant-b:");
  CHECK_FALSE(elsewhere->find(entry.fingerprint));
}

TEST_CASE("a damaged entry is a miss and the next put replaces it") {
  RedisServer server;
  auto cache = checkpoints::make_redis_stage_cache(server.connect_options());
  const auto entry = testing::sample_cache_entry("damaged");
  REQUIRE(cache->put(entry));
  const std::string key = "pipeline:cache:stage:" + entry.fingerprint;
  const std::string whole = server.command({"GET", key}).text;
  std::string edited = whole;
  edited.replace(edited.find("damaged\\\"}"), 7, "DAMAGED");
  server.command({"SET", key, edited});
  CHECK_FALSE(cache->find(entry.fingerprint));
  server.command({"SET", key, whole.substr(0, whole.size() / 2)});
  CHECK_FALSE(cache->find(entry.fingerprint));
  REQUIRE(cache->put(entry));
  CHECK(cache->find(entry.fingerprint));
}

TEST_CASE("an entry above 512 KiB is chunked and read back whole") {
  RedisServer server;
  auto cache = checkpoints::make_redis_stage_cache(server.connect_options());
  auto entry = testing::sample_cache_entry("large");
  entry.output = "{\"text\": \"" + std::string(1200 * 1024, 'q') + "\"}\n";
  REQUIRE(cache->put(entry));
  CHECK(server.command({"GET", "pipeline:cache:stage:" + entry.fingerprint}).text.rfind("*3 ", 0) == 0);
  auto found = cache->find(entry.fingerprint);
  REQUIRE(found);
  CHECK(found->output == entry.output);
}

TEST_CASE("the Redis stage cache takes concurrent puts and finds; Redis gone is a miss for find and an error for put") {
  RedisServer server;
  auto cache = checkpoints::make_redis_stage_cache(server.connect_options());
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 20; ++i) {
          const auto entry = testing::sample_cache_entry(std::to_string(i));
          CHECK(cache->put(entry));
          auto found = cache->find(entry.fingerprint);
          CHECK((found && found->output == entry.output));
        }
      });
    }
  }
  server.kill();
  const auto entry = testing::sample_cache_entry("3");
  CHECK_FALSE(cache->find(entry.fingerprint));
  auto put = cache->put(entry);
  REQUIRE_FALSE(put.has_value());
  CHECK(put.error().kind == util::ErrorKind::transient);
}

TEST_CASE("prune removes old entries and their chunks from Redis and keeps newer ones") {
  RedisServer server;
  auto cache = checkpoints::make_redis_stage_cache(server.connect_options());
  testing::check_stage_cache_prune(*cache);
  // The old large entry's chunks went with it; the recent entry is all that is left.
  const auto keys = server.command({"KEYS", "pipeline:cache:*"});
  REQUIRE(keys.elements.size() == 1);
  CHECK(keys.elements.at(0).text == "pipeline:cache:stage:" + testing::sample_cache_entry("recent").fingerprint);
}

TEST_CASE("prune of the Redis stage cache removes a damaged entry and leaves other keys alone") {
  RedisServer server;
  auto cache = checkpoints::make_redis_stage_cache(server.connect_options());
  const auto entry = testing::sample_cache_entry("broken");
  server.command({"SET", "pipeline:cache:stage:" + entry.fingerprint, "=not json"});
  server.command({"SET", "pipeline:cache:stage:notes", "mine"});
  server.command({"SET", "pipeline:run:x:checkpoint", "=keep"});
  const auto pruned = cache->prune(std::chrono::sys_days(std::chrono::year(2000) / 1 / 1), false);
  REQUIRE(pruned.has_value());
  CHECK(pruned->entries == 1);
  CHECK(server.command({"EXISTS", "pipeline:cache:stage:" + entry.fingerprint}).integer == 0);
  CHECK(server.command({"EXISTS", "pipeline:cache:stage:notes", "pipeline:run:x:checkpoint"}).integer == 2);
}

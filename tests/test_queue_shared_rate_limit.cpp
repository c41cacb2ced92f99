#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "lib/queue/shared_rate_limit.hpp"
#include "lib/redis/redis_connection.hpp"
#include "tests/support/redis_server.hpp"

using namespace pipeline::queue;
using pipeline::testing::RedisServer;
using namespace std::chrono_literals;
namespace util = pipeline::util;

namespace {

const RateLimitKey k_limit_key{"api.example.com", "test-model", api_key_fingerprint("sk-limit-SECRET-1")};

SharedRateLimit shared_limit(const RedisServer& redis, RateBudget budget) {
  return SharedRateLimit(redis.connect_options(), "pipeline:", k_limit_key, budget);
}

RateGrant limit_try(SharedRateLimit& limit, std::int64_t tokens) {
  auto grant = limit.try_acquire(tokens);
  REQUIRE_MESSAGE(grant.has_value(), grant.error().message);
  return *grant;
}

}  // namespace

TEST_CASE("a budget is keyed by host, model and a fingerprint of the key, never the key") {
  const auto fingerprint = api_key_fingerprint("sk-limit-SECRET-1");
  CHECK(fingerprint.size() == 16);
  CHECK(fingerprint != api_key_fingerprint("sk-limit-SECRET-2"));
  CHECK(fingerprint == api_key_fingerprint("sk-limit-SECRET-1"));
  const auto stem = k_limit_key.stem("pipeline:");
  // One hash tag for all of a limiter's keys: one cluster slot per script.
  CHECK(stem == "pipeline:{limit:api.example.com|test-model|" + fingerprint + "}");
  CHECK(stem.find("SECRET") == std::string::npos);
}

TEST_CASE("requests per minute are shared by every limiter of the same budget, as by two processes") {
  RedisServer redis;
  auto first = shared_limit(redis, {3, 0, 60s});
  auto second = shared_limit(redis, {3, 0, 60s});
  CHECK(limit_try(first, 10).granted);
  CHECK(limit_try(first, 10).granted);
  CHECK(limit_try(second, 10).granted);
  const auto refused = limit_try(second, 10);
  CHECK_FALSE(refused.granted);
  CHECK(refused.wait > 59s);
  CHECK(refused.wait <= 61s);
  CHECK_FALSE(limit_try(first, 10).granted);
  // Another model is another budget.
  SharedRateLimit other(redis.connect_options(), "pipeline:", {"api.example.com", "other-model", k_limit_key.key_fingerprint},
                        {3, 0, 60s});
  CHECK(limit_try(other, 10).granted);
  // Nothing in Redis names the key.
  for (const auto& key : redis.command({"KEYS", "*"}).elements) CHECK(key.text.find("SECRET") == std::string::npos);
}

TEST_CASE("tokens per minute: charged when granted, corrected by settle, and a pause holds everyone") {
  RedisServer redis;
  auto limit = shared_limit(redis, {0, 1000, 60s});
  const auto big = limit_try(limit, 600);
  REQUIRE(big.granted);
  CHECK(limit_try(limit, 300).granted);
  CHECK_FALSE(limit_try(limit, 300).granted);
  // The 600-token request used 100: 600 tokens are free again.
  REQUIRE(limit.settle(big.grant, 100).has_value());
  CHECK(limit_try(limit, 300).granted);
  CHECK_FALSE(limit_try(limit, 301).granted);

  auto other = shared_limit(redis, {0, 1000, 60s});
  REQUIRE(other.pause_for(400ms).has_value());
  REQUIRE(other.pause_for(100ms).has_value());
  const auto paused = limit_try(limit, 1);
  CHECK_FALSE(paused.granted);
  CHECK(paused.wait > 200ms);
  CHECK(paused.wait <= 400ms);
}

TEST_CASE("acquire waits for the window to slide; four threads never exceed the budget") {
  RedisServer redis;
  const RateBudget budget{10, 0, 500ms};
  std::mutex mutex;
  std::vector<std::chrono::steady_clock::time_point> granted_at;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto limit = shared_limit(redis, budget);
      for (int i = 0; i < 5; ++i) {
        auto grant = limit.acquire(1, util::CancelToken());
        REQUIRE(grant.has_value());
        REQUIRE(grant->has_value());
        std::lock_guard lock(mutex);
        granted_at.push_back(std::chrono::steady_clock::now());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  REQUIRE(granted_at.size() == 20);
  // 20 requests at 10 per half second: the last ten wait for the first window to pass.
  CHECK(std::chrono::steady_clock::now() - start >= 450ms);
  std::sort(granted_at.begin(), granted_at.end());
  CHECK(granted_at[10] - granted_at[0] >= 450ms);
}

TEST_CASE("waiters are served by priority, then by arrival, across limiters; a waiter that leaves is forgotten") {
  RedisServer redis;
  auto first = shared_limit(redis, {1, 0, 60s});
  auto second = shared_limit(redis, {1, 0, 60s});
  REQUIRE(limit_try(first, 1).granted);
  // Three refused tries wait in line: two normal, then one high (a few ms
  // apart, since arrival is counted in ms).
  REQUIRE_FALSE(first.try_acquire(1, "normal-a", pipeline::llm::k_rate_priority_normal)->granted);
  std::this_thread::sleep_for(5ms);
  REQUIRE_FALSE(second.try_acquire(1, "normal-b", pipeline::llm::k_rate_priority_normal)->granted);
  std::this_thread::sleep_for(5ms);
  REQUIRE_FALSE(second.try_acquire(1, "high", pipeline::llm::k_rate_priority_high)->granted);
  CHECK(redis.command({"ZRANGE", first.stem() + ":waiting", "0", "-1"}).elements.size() == 3);
  // A bigger budget (as for a limit learned meanwhile) has room for two:
  // the urgent one and the earlier normal one. The later normal one does not
  // fit behind both, even when it asks first.
  first.set_limits(3, 0);
  second.set_limits(3, 0);
  CHECK_FALSE(second.try_acquire(1, "normal-b", pipeline::llm::k_rate_priority_normal)->granted);
  CHECK(first.try_acquire(1, "normal-a", pipeline::llm::k_rate_priority_normal)->granted);
  CHECK(second.try_acquire(1, "high", pipeline::llm::k_rate_priority_high)->granted);
  CHECK_FALSE(second.try_acquire(1, "normal-b", pipeline::llm::k_rate_priority_normal)->granted);
  REQUIRE(second.leave("normal-b").has_value());
  CHECK(redis.command({"ZCARD", first.stem() + ":waiting"}).integer == 0);
}

TEST_CASE("learned limits lower the budget, pauses are counted, and the status lists each limiter") {
  RedisServer redis;
  auto limit = shared_limit(redis, {10, 0, 60s});
  REQUIRE(limit.learn({2, 5000}).has_value());
  CHECK(limit_try(limit, 100).granted);
  CHECK(limit_try(limit, 100).granted);
  CHECK_FALSE(limit_try(limit, 100).granted);
  REQUIRE(limit.pause_for(2s).has_value());
  pipeline::redis::Connection connection(redis.connect_options());
  auto statuses = rate_limit_statuses(connection, "pipeline:");
  REQUIRE(statuses.has_value());
  REQUIRE(statuses->size() == 1);
  const auto& status = statuses->front();
  CHECK(status.host == "api.example.com");
  CHECK(status.model == "test-model");
  CHECK(status.key_fingerprint == k_limit_key.key_fingerprint);
  CHECK(status.configured.requests_per_minute == 10);
  CHECK(status.learned.requests_per_minute == 2);
  CHECK(status.learned.tokens_per_minute == 5000);
  CHECK(status.requests_in_window == 2);
  CHECK(status.tokens_in_window == 200);
  CHECK(status.granted == 2);
  CHECK(status.pauses == 1);
  CHECK(status.paused_ms > 1000);
  CHECK(status.paused_ms_total == 2000);
}

TEST_CASE("the Redis limiter behind llm::RateLimiter: four threads, two limiters, one budget") {
  RedisServer redis;
  const pipeline::llm::RateWindow window{600ms};
  auto one = std::make_shared<RedisRateLimiter>(redis.connect_options(), "pipeline:", window);
  auto two = std::make_shared<RedisRateLimiter>(redis.connect_options(), "pipeline:", window);
  const auto scope = pipeline::llm::rate_scope("https://api.example.com/v1", "test-model", "sk-limit-SECRET-1");
  std::mutex mutex;
  std::vector<std::chrono::steady_clock::time_point> granted_at;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto& limiter = t % 2 == 0 ? *one : *two;
      for (int i = 0; i < 3; ++i) {
        auto ticket = limiter.acquire({scope, {0, 1000}, 200, pipeline::llm::k_rate_priority_normal}, util::CancelToken());
        REQUIRE(ticket.has_value());
        REQUIRE(ticket->has_value());
        std::lock_guard lock(mutex);
        granted_at.push_back(std::chrono::steady_clock::now());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  REQUIRE(granted_at.size() == 12);
  std::sort(granted_at.begin(), granted_at.end());
  // 12 requests of 200 tokens at 1000 per window: five per window, so the
  // sixth waits a window and the eleventh two.
  CHECK(granted_at[5] - start >= 600ms);
  CHECK(granted_at[10] - start >= 1200ms);
  // A 429 pause set through one limiter holds the other.
  one->pause(scope, 500ms);
  const auto paused_at = std::chrono::steady_clock::now();
  auto ticket = two->acquire({scope, {}, 1, pipeline::llm::k_rate_priority_normal}, util::CancelToken());
  REQUIRE(ticket.has_value());
  CHECK(std::chrono::steady_clock::now() - paused_at >= 450ms);
  for (const auto& key : redis.command({"KEYS", "*"}).elements) {
    CHECK(key.text.find("SECRET") == std::string::npos);
    CHECK(key.text.rfind("pipeline:{limit:", 0) == 0);
  }
}

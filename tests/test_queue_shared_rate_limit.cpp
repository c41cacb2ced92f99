#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "lib/queue/shared_rate_limit.hpp"
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
  CHECK(stem == "pipeline:limit:api.example.com|test-model|" + fingerprint);
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
  CHECK(refused.wait <= 60s);
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

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lib/llm/rate_limiter.hpp"

using namespace pipeline::llm;
using namespace std::chrono_literals;
namespace util = pipeline::util;

namespace {

const RateScope k_local_scope = rate_scope("https://api.example.com/v1", "test-model", "sk-local-SECRET");

RateTicket local_acquire(LocalRateLimiter& limiter, RateLimits limits, std::int64_t tokens,
                         int priority = k_rate_priority_normal) {
  auto ticket = limiter.acquire({k_local_scope, limits, tokens, priority}, util::CancelToken());
  REQUIRE(ticket.has_value());
  REQUIRE(ticket->has_value());
  return **ticket;
}

}  // namespace

TEST_CASE("the x-ratelimit-* headers are read as OpenAI writes them") {
  const auto said = parse_rate_headers({{"x-ratelimit-limit-requests", "60"},
                                        {"x-ratelimit-limit-tokens", "150000"},
                                        {"x-ratelimit-remaining-requests", "59"},
                                        {"x-ratelimit-remaining-tokens", "149984"},
                                        {"x-ratelimit-reset-requests", "1s"},
                                        {"x-ratelimit-reset-tokens", "6m0s"},
                                        {"x-other", "1"}});
  REQUIRE(said.any());
  CHECK(said.limit_requests == 60);
  CHECK(said.limit_tokens == 150000);
  CHECK(said.remaining_requests == 59);
  CHECK(said.remaining_tokens == 149984);
  CHECK(said.reset_requests == 1000ms);
  CHECK(said.reset_tokens == 360000ms);
  CHECK(said.limits().requests_per_minute == 60);
  CHECK(said.limits().tokens_per_minute == 150000);
  CHECK(parse_reset_duration("12ms") == 12ms);
  CHECK(parse_reset_duration("1.5s") == 1500ms);
  CHECK(parse_reset_duration("1h2m3.5s") == 3723500ms);
  CHECK(parse_reset_duration("7") == 7000ms);
  CHECK_FALSE(parse_reset_duration("soon"));
  CHECK_FALSE(parse_reset_duration("5x"));
  CHECK_FALSE(parse_rate_headers({{"x-ratelimit-limit-requests", "many"}}).any());
}

TEST_CASE("configured limits hold unless the provider's are lower") {
  CHECK(effective_limits({10, 0}, {0, 0}).requests_per_minute == 10);
  CHECK(effective_limits({10, 0}, {5, 900}).requests_per_minute == 5);
  CHECK(effective_limits({10, 0}, {5, 900}).tokens_per_minute == 900);
  CHECK(effective_limits({0, 100}, {0, 900}).tokens_per_minute == 100);
  // The scope names the host and a fingerprint, never the key.
  CHECK(k_local_scope.host == "api.example.com");
  CHECK(k_local_scope.key_fingerprint.size() == 16);
  CHECK(k_local_scope.text().find("SECRET") == std::string::npos);
}

TEST_CASE("a local limiter holds requests and tokens per window, settles, and learns") {
  LocalRateLimiter limiter({500ms});
  const auto start = std::chrono::steady_clock::now();
  const auto big = local_acquire(limiter, {0, 1000}, 600);
  local_acquire(limiter, {0, 1000}, 300);
  // 600 tokens used only 100: the next 300 fit at once.
  limiter.settle(k_local_scope, big, 100);
  local_acquire(limiter, {0, 1000}, 300);
  CHECK(std::chrono::steady_clock::now() - start < 200ms);
  // Full now: the next waits for the window (and its margin) to pass.
  local_acquire(limiter, {0, 1000}, 500);
  CHECK(std::chrono::steady_clock::now() - start >= 500ms);

  // The provider's headers lower the budget of a scope with none configured.
  LocalRateLimiter learning({400ms});
  ProviderRateHeaders said;
  said.limit_requests = 2;
  learning.learn(k_local_scope, said);
  const auto learned_start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) local_acquire(learning, {}, 1);
  CHECK(std::chrono::steady_clock::now() - learned_start >= 400ms);
}

TEST_CASE("a pause holds every request of the scope, and a cancel ends a wait") {
  LocalRateLimiter limiter({60s});
  limiter.pause(k_local_scope, 300ms);
  const auto start = std::chrono::steady_clock::now();
  local_acquire(limiter, {}, 1);
  CHECK(std::chrono::steady_clock::now() - start >= 290ms);

  // With the request above, a second of two a minute fills the budget.
  local_acquire(limiter, {2, 0}, 1);
  util::CancelToken cancel;
  std::thread canceller([cancel]() mutable {
    std::this_thread::sleep_for(150ms);
    cancel.cancel();
  });
  auto waited = limiter.acquire({k_local_scope, {2, 0}, 1, k_rate_priority_normal}, cancel);
  canceller.join();
  REQUIRE(waited.has_value());
  CHECK_FALSE(waited->has_value());
}

TEST_CASE("waiting requests are served by priority: an urgent one passes a queue of normal ones") {
  LocalRateLimiter limiter({400ms});
  const RateLimits limits{2, 0};
  local_acquire(limiter, limits, 1);
  local_acquire(limiter, limits, 1);
  std::mutex mutex;
  std::vector<std::string> order;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      local_acquire(limiter, limits, 1, k_rate_priority_normal);
      std::lock_guard lock(mutex);
      order.push_back("normal" + std::to_string(i));
    });
    std::this_thread::sleep_for(20ms);
  }
  threads.emplace_back([&] {
    local_acquire(limiter, limits, 1, k_rate_priority_high);
    std::lock_guard lock(mutex);
    order.push_back("high");
  });
  for (auto& thread : threads) thread.join();
  REQUIRE(order.size() == 5);
  // The urgent request came last but is granted in the first window that frees.
  const auto high_at = std::find(order.begin(), order.end(), "high") - order.begin();
  CHECK(high_at <= 1);
  // The normal ones keep their order of arrival: the first in the first
  // window with the urgent one, the last alone in the third.
  const auto first_at = std::find(order.begin(), order.end(), "normal0") - order.begin();
  CHECK(first_at <= 1);
  CHECK(order.back() == "normal3");
  CHECK(limiter.granted_in_window(k_local_scope) <= 2);
}

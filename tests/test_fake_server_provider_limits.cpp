#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "tests/fake_server/fake_llm_server.hpp"
#include "tests/fake_server/provider_limits.hpp"

using namespace pipeline::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::map<std::string, std::string> limit_headers(const LimitVerdict& verdict) {
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : verdict.headers) headers[name] = value;
  return headers;
}

const auto k_limits_start = std::chrono::steady_clock::time_point() + 1h;

}  // namespace

TEST_CASE("openai_reset_text writes durations as OpenAI's headers do") {
  CHECK(openai_reset_text(12ms) == "12ms");
  CHECK(openai_reset_text(0ms) == "0ms");
  CHECK(openai_reset_text(1s) == "1s");
  CHECK(openai_reset_text(1500ms) == "1.5s");
  CHECK(openai_reset_text(6min) == "6m0s");
  CHECK(openai_reset_text(1h + 2min + 3s + 250ms) == "1h2m3.25s");
}

TEST_CASE("requests per minute: the window slides, a refusal says when the request fits") {
  ProviderLimits limits({3, 0, 60s});
  for (int i = 0; i < 3; ++i) CHECK(limits.admit(10, k_limits_start + std::chrono::seconds(10 * i)).admitted);
  auto refused = limits.admit(10, k_limits_start + 30s);
  CHECK_FALSE(refused.admitted);
  // The first request leaves the window at 60 s: 30 s from now.
  CHECK(refused.retry_after == 30s);
  auto headers = limit_headers(refused);
  CHECK(headers.at("Retry-After") == "30");
  CHECK(headers.at("x-ratelimit-limit-requests") == "3");
  CHECK(headers.at("x-ratelimit-remaining-requests") == "0");
  CHECK(headers.at("x-ratelimit-reset-requests") == "50s");
  CHECK(headers.count("x-ratelimit-limit-tokens") == 0);
  // A refused request used nothing: once the first left, one more fits.
  CHECK(limits.admit(10, k_limits_start + 60s).admitted);
  CHECK_FALSE(limits.admit(10, k_limits_start + 61s).admitted);
  CHECK(limits.admitted() == 4);
  CHECK(limits.refused() == 2);
}

TEST_CASE("tokens per minute: a request is charged its tokens; a too large one waits for an empty window") {
  ProviderLimits limits({0, 1000, 60s});
  auto first = limits.admit(600, k_limits_start);
  CHECK(first.admitted);
  CHECK(limit_headers(first).at("x-ratelimit-remaining-tokens") == "400");
  CHECK(limit_headers(first).at("x-ratelimit-reset-tokens") == "1m0s");
  CHECK(limits.admit(300, k_limits_start + 20s).admitted);
  auto refused = limits.admit(300, k_limits_start + 40s);
  CHECK_FALSE(refused.admitted);
  CHECK(refused.retry_after == 20s);
  CHECK(limit_headers(refused).at("x-ratelimit-remaining-tokens") == "100");
  // Bigger than the whole budget: taken alone once nothing else is in the window.
  CHECK_FALSE(limits.admit(5000, k_limits_start + 61s).admitted);
  CHECK(limits.admit(5000, k_limits_start + 81s).admitted);
}

TEST_CASE("charged_tokens counts the prompt as the fake's usage does, and max_tokens") {
  const json messages = json::array({{{"role", "user"}, {"content", std::string(400, 'a')}}});
  const auto prompt = fake_usage(messages, "").at("prompt_tokens").get<std::int64_t>();
  CHECK(charged_tokens({{"messages", messages}}) == prompt);
  CHECK(charged_tokens({{"messages", messages}, {"max_tokens", 500}}) == prompt + 500);
  CHECK(charged_tokens({{"messages", messages}, {"max_completion_tokens", 70}}) == prompt + 70);
}

TEST_CASE("the fake server refuses past its limits with 429, counted across all connections") {
  FakeLlmServer server;
  server.set_provider_limits({4, 0, 60s});
  const json body = {{"model", "test-model"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  std::vector<int> statuses(6, 0);
  std::vector<std::map<std::string, std::string>> headers(6);
  std::vector<std::thread> clients;
  for (int i = 0; i < 6; ++i) {
    clients.emplace_back([&, i] {
      httplib::Client client("127.0.0.1", server.port());
      auto result = client.Post("/v1/chat/completions", body.dump(), "application/json");
      if (!result) return;
      statuses[i] = result->status;
      for (const auto& [name, value] : result->headers) headers[i][name] = value;
    });
  }
  for (auto& client : clients) client.join();
  int ok = 0, limited = 0;
  for (int i = 0; i < 6; ++i) {
    CAPTURE(i);
    ok += statuses[i] == 200;
    limited += statuses[i] == 429;
    CHECK(headers[i].count("x-ratelimit-limit-requests") == 1);
    if (statuses[i] == 429) {
      CHECK(std::stoi(headers[i].at("Retry-After")) >= 1);
      CHECK(headers[i].at("x-ratelimit-remaining-requests") == "0");
    }
  }
  CHECK(ok == 4);
  CHECK(limited == 2);
  CHECK(server.rate_limited_count() == 2);
}

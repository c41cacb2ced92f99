#include <doctest/doctest.h>

#include "lib/llm/doctor.hpp"
#include "tests/fake_server/fake_llm_server.hpp"

using namespace pipeline::llm;
using pipeline::testing::FakeLlmServer;
using pipeline::util::CancelToken;

namespace {

ClientConfig config_for(const FakeLlmServer& server) {
  ClientConfig config;
  config.base_url = server.base_url();
  config.model = "test-model";
  return config;
}

const DoctorCheck* find(const DoctorReport& report, const std::string& name) {
  for (const auto& check : report.checks)
    if (check.name == name) return &check;
  return nullptr;
}

}  // namespace

TEST_CASE("a healthy local setup passes every check, ping included") {
  FakeLlmServer server;
  const auto report = run_doctor(config_for(server), true, CancelToken{});
  CHECK(report.ok());
  CHECK(report.first_failure() == nullptr);
  REQUIRE(report.checks.size() == 6);
  CHECK(find(report, "api_key")->detail == "none (fine for a local server)");
  CHECK(find(report, "models")->data["count"] == 1);
  const auto* ping = find(report, "ping");
  REQUIRE(ping != nullptr);
  CHECK(ping->data["usage"]["completion_tokens"].get<int>() > 0);
  CHECK(ping->data["latency_s"].get<double>() >= 0);
  CHECK(ping->data["first_token_s"].is_number());
  CHECK(server.requests().back()["stream"] == true);
  const auto json = report.to_json();
  CHECK(json["ok"] == true);
  CHECK(json["checks"].size() == 6);
}

TEST_CASE("without --ping no completion is sent") {
  FakeLlmServer server;
  const auto report = run_doctor(config_for(server), false, CancelToken{});
  CHECK(report.ok());
  CHECK(find(report, "ping") == nullptr);
  CHECK(server.request_count() == 0);
}

TEST_CASE("a model the server does not list fails with what to fix") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.model = "acme/unknown";
  const auto report = run_doctor(config, false, CancelToken{});
  CHECK_FALSE(report.ok());
  REQUIRE(report.first_failure() != nullptr);
  CHECK(report.first_failure()->name == "model_listed");
  CHECK(report.first_failure()->detail.find("--model") != std::string::npos);
}

TEST_CASE("a refused key fails the models check and the key is shown masked only") {
  const std::string key = "sk-or-v1-DOCTORCANARY-0011223344556677";
  FakeLlmServer server;
  server.require_key("another-key");
  auto config = config_for(server);
  config.api_key = ApiKey{key, "OPENROUTER_API_KEY"};
  const auto report = run_doctor(config, true, CancelToken{});
  CHECK_FALSE(report.ok());
  CHECK(find(report, "api_key")->detail == "from OPENROUTER_API_KEY: sk-or-...6677");
  CHECK(report.first_failure()->name == "models");
  CHECK(report.first_failure()->detail.find("check OPENROUTER_API_KEY") != std::string::npos);
  CHECK(report.to_json().dump().find("DOCTORCANARY") == std::string::npos);
}

TEST_CASE("an unreachable server, a bad URL and a missing key for a remote server are reported") {
  int closed_port = 0;
  {
    FakeLlmServer gone;
    closed_port = gone.port();
  }
  ClientConfig config;
  config.base_url = "http://127.0.0.1:" + std::to_string(closed_port) + "/v1";
  config.connect_timeout_s = 2;
  auto report = run_doctor(config, false, CancelToken{});
  REQUIRE(report.first_failure() != nullptr);
  CHECK(report.first_failure()->name == "models");
  CHECK(report.first_failure()->detail.find("could not reach") != std::string::npos);

  config.base_url = "openrouter.ai/api/v1";
  report = run_doctor(config, false, CancelToken{});
  CHECK(report.first_failure()->name == "base_url");
  CHECK(find(report, "models") == nullptr);

  config.base_url = "notaurl://x";
  config.api_key = {};
  report = run_doctor(config, false, CancelToken{});
  CHECK(find(report, "api_key")->ok == false);
  CHECK(find(report, "api_key")->detail.find("PIPELINE_API_KEY") != std::string::npos);
}

TEST_CASE("local URLs are recognised") {
  CHECK(is_local_url("http://localhost:11434/v1"));
  CHECK(is_local_url("http://127.0.0.1:8080/v1"));
  CHECK(is_local_url("http://[::1]:8000/v1"));
  CHECK_FALSE(is_local_url("https://openrouter.ai/api/v1"));
  CHECK_FALSE(is_local_url("https://localhost.example.com/v1"));
}

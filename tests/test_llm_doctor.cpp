#include <doctest/doctest.h>

#include "lib/llm/doctor.hpp"
#include "tests/fake_server/fake_llm_server.hpp"

using namespace pipeline::llm;
using pipeline::testing::FakeLlmServer;
using pipeline::util::CancelToken;

namespace {

ClientConfig doctor_config_for(const FakeLlmServer& server) {
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
  const auto report = run_doctor(doctor_config_for(server), true, CancelToken{});
  CHECK(report.ok());
  CHECK(report.first_failure() == nullptr);
  REQUIRE(report.checks.size() == 8);
  CHECK(find(report, "api_key")->detail == "none (fine for a local server)");
  // A loopback server on an unusual port gets the generic profile.
  CHECK(find(report, "profile")->data["dialect"] == "generic");
  CHECK(find(report, "profile")->data["first_rung"] == "strict");
  CHECK(find(report, "models")->data["count"] == 1);
  const auto* ping = find(report, "ping");
  REQUIRE(ping != nullptr);
  CHECK(ping->data["usage"]["completion_tokens"].get<int>() > 0);
  CHECK(ping->data["latency_s"].get<double>() >= 0);
  CHECK(ping->data["first_token_s"].is_number());
  CHECK(server.requests().back()["stream"] == true);
  const auto json = report.to_json();
  CHECK(json["ok"] == true);
  CHECK(json["checks"].size() == 8);
}

TEST_CASE("doctor says what the model is sent: the table's parameters, or what the run learned") {
  FakeLlmServer server;
  auto config = doctor_config_for(server);
  config.model = "gpt-5-mini";
  auto report = run_doctor(config, false, CancelToken{});
  const auto* parameters = find(report, "parameters");
  REQUIRE(parameters != nullptr);
  CHECK(parameters->data["token_field"] == "max_completion_tokens");
  CHECK(parameters->detail.find("no temperature") != std::string::npos);
  config.model = "test-model";
  ModelParameters learned;
  learned.temperature = false;
  learned.learned = {"temperature"};
  config.model_parameters["test-model"] = learned;
  report = run_doctor(config, false, CancelToken{});
  CHECK(find(report, "parameters")->data["learned"] == nlohmann::json::array({"temperature"}));
}

TEST_CASE("doctor names the profile --schema-dialect picks and a forced rung") {
  FakeLlmServer server;
  auto config = doctor_config_for(server);
  config.schema_dialect = "anthropic";
  config.forced_rung = StructuredRung::json_object;
  const auto report = run_doctor(config, false, CancelToken{});
  const auto* profile = find(report, "profile");
  REQUIRE(profile != nullptr);
  CHECK(profile->data["dialect"] == "anthropic");
  CHECK(profile->data["chosen_by"] == "--schema-dialect anthropic");
  CHECK(profile->data["forced_rung"] == "json_object");
  CHECK(profile->detail.find("maxItems") != std::string::npos);
}

TEST_CASE("without --ping no completion is sent") {
  FakeLlmServer server;
  const auto report = run_doctor(doctor_config_for(server), false, CancelToken{});
  CHECK(report.ok());
  CHECK(find(report, "ping") == nullptr);
  CHECK(server.request_count() == 0);
}

TEST_CASE("a model the server does not list fails with what to fix") {
  FakeLlmServer server;
  auto config = doctor_config_for(server);
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
  auto config = doctor_config_for(server);
  config.api_key = ApiKey{key, "OPENROUTER_API_KEY"};
  const auto report = run_doctor(config, true, CancelToken{});
  CHECK_FALSE(report.ok());
  CHECK(find(report, "api_key")->detail == "from OPENROUTER_API_KEY: sk-or-...6677");
  CHECK(report.first_failure()->name == "models");
  CHECK(report.first_failure()->detail.find("check OPENROUTER_API_KEY") != std::string::npos);
  CHECK(report.to_json().dump().find("DOCTORCANARY") == std::string::npos);
}

TEST_CASE("a key that GET /models does not need is not claimed to work without --ping") {
  FakeLlmServer server;
  server.require_key("the-right-key");
  server.set_models_need_key(false);  // like OpenRouter
  auto config = doctor_config_for(server);
  config.api_key = ApiKey{"sk-or-v1-revoked-00000000000000001111", "OPENROUTER_API_KEY"};
  auto report = run_doctor(config, false, CancelToken{});
  CHECK(report.ok());
  CHECK(find(report, "api_key")->detail ==
        "from OPENROUTER_API_KEY: sk-or-...1111; key not verified (GET /models needs no key on this provider); "
        "use --ping to check it");
  CHECK(find(report, "api_key")->data["verified"] == false);

  // With --ping the refused key fails, as a provider error.
  report = run_doctor(config, true, CancelToken{});
  CHECK_FALSE(report.ok());
  REQUIRE(report.first_failure() != nullptr);
  CHECK(report.first_failure()->name == "ping");
  CHECK(report.first_failure()->failure_kind == pipeline::util::ErrorKind::provider);
  CHECK(report.first_failure()->detail.find("the API key was refused (HTTP 401)") != std::string::npos);

  // A key that GET /models checks is verified by its success.
  server.set_models_need_key(true);
  config.api_key = ApiKey{"the-right-key", "PIPELINE_API_KEY"};
  report = run_doctor(config, false, CancelToken{});
  CHECK(report.ok());
  CHECK(find(report, "api_key")->detail.find("not verified") == std::string::npos);
}

TEST_CASE("a model without a tag is listed by its :latest tag, as Ollama lists it") {
  FakeLlmServer server;
  server.set_models({"llama3.2:latest", "qwen2.5:7b"});
  auto config = doctor_config_for(server);
  config.model = "llama3.2";
  CHECK(run_doctor(config, false, CancelToken{}).ok());
  config.model = "qwen2.5";  // only a :latest tag stands in for no tag
  const auto report = run_doctor(config, false, CancelToken{});
  CHECK_FALSE(report.ok());
  CHECK(report.first_failure()->name == "model_listed");

  CHECK(model_is_listed({"llama3.2:latest"}, "llama3.2:latest"));
  CHECK_FALSE(model_is_listed({"llama3.2:latest"}, "llama3.2:1b"));
  CHECK_FALSE(model_is_listed({"llama3.2"}, "llama3"));
}

TEST_CASE("a doctor stopped by a cancel or a deadline says so instead of blaming the provider") {
  FakeLlmServer server;
  CancelToken cancelled;
  cancelled.cancel();
  auto report = run_doctor(doctor_config_for(server), false, cancelled);
  REQUIRE(report.first_failure() != nullptr);
  CHECK(report.first_failure()->name == "models");
  CHECK(report.first_failure()->failure_kind == pipeline::util::ErrorKind::interrupted);

  report = run_doctor(doctor_config_for(server), false, CancelToken(pipeline::util::Clock::now()));
  REQUIRE(report.first_failure() != nullptr);
  CHECK(report.first_failure()->failure_kind == pipeline::util::ErrorKind::deadline);
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

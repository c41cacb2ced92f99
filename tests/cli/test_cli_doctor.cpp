#include <doctest/doctest.h>

#include "tests/fake_server/fake_llm_server.hpp"
#include "tests/support/process.hpp"

using pipeline::testing::FakeLlmServer;
using pipeline::testing::FaultKind;
using pipeline::testing::ProcessOptions;
using pipeline::testing::run_pipeline;
using pipeline::testing::ScriptedReply;

namespace {

// The environment for a doctor run against `server`, with no key from the
// developer's own environment leaking in (an empty value unsets).
ProcessOptions environment(const FakeLlmServer& server, const std::string& model = "test-model") {
  ProcessOptions options;
  options.env = {{"PIPELINE_BASE_URL", server.base_url()},
                 {"PIPELINE_MODEL", model},
                 {"PIPELINE_API_KEY", ""},
                 {"OPENROUTER_API_KEY", ""},
                 {"OPENAI_API_KEY", ""}};
  return options;
}

}  // namespace

TEST_CASE("doctor passes against a local server without a key") {
  FakeLlmServer server;
  const auto result = run_pipeline({"doctor"}, environment(server));
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("all checks passed") != std::string::npos);
  CHECK(result.out.find(server.base_url()) != std::string::npos);
  CHECK(result.out.find("none (fine for a local server)") != std::string::npos);
  CHECK(server.request_count() == 0);
}

TEST_CASE("doctor --ping --json prints a machine-readable report") {
  FakeLlmServer server;
  const auto result = run_pipeline({"doctor", "--ping", "--json"}, environment(server));
  CHECK(result.exit_code == 0);
  const auto json = nlohmann::json::parse(result.out);
  CHECK(json["ok"] == true);
  bool pinged = false;
  for (const auto& check : json["checks"]) {
    if (check["name"] == "ping") {
      pinged = true;
      CHECK(check["data"]["usage"]["completion_tokens"].get<int>() > 0);
      CHECK(check["data"]["latency_s"].is_number());
    }
  }
  CHECK(pinged);
  CHECK(server.request_count() == 1);
  // Human text goes to stderr with --json.
  CHECK(result.err.find("all checks passed") != std::string::npos);
}

TEST_CASE("doctor exits 4 when the model is not served") {
  FakeLlmServer server;
  const auto result = run_pipeline({"doctor"}, environment(server, "acme/missing"));
  CHECK(result.exit_code == 4);
  CHECK(result.err.find("pipeline: error: doctor: model_listed") != std::string::npos);
  CHECK(result.err.find("acme/missing") != std::string::npos);
}

TEST_CASE("doctor names the key's variable, masks it, and exits 4 when it is refused") {
  const std::string key = "sk-or-v1-CLICANARY-aabbccddeeff00112233";
  FakeLlmServer server;
  server.require_key("the-right-key");
  auto options = environment(server);
  options.env["OPENROUTER_API_KEY"] = key;
  const auto result = run_pipeline({"doctor", "--ping"}, options);
  CHECK(result.exit_code == 4);
  CHECK(result.out.find("from OPENROUTER_API_KEY: sk-or-...2233") != std::string::npos);
  CHECK(result.err.find("the API key was refused (HTTP 401): check OPENROUTER_API_KEY") != std::string::npos);
  CHECK((result.out + result.err).find("CLICANARY") == std::string::npos);
}

TEST_CASE("PIPELINE_API_KEY wins over the other key variables") {
  FakeLlmServer server;
  server.require_key("sk-pipeline-key-000000000001");
  auto options = environment(server);
  options.env["PIPELINE_API_KEY"] = "sk-pipeline-key-000000000001";
  options.env["OPENROUTER_API_KEY"] = "sk-or-v1-other-key-0000000002";
  options.env["OPENAI_API_KEY"] = "sk-openai-other-key-000000003";
  const auto result = run_pipeline({"doctor"}, options);
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("from PIPELINE_API_KEY") != std::string::npos);
}

TEST_CASE("doctor exits 4 with the reason when the server cannot be reached") {
  int closed_port = 0;
  {
    FakeLlmServer gone;
    closed_port = gone.port();
  }
  ProcessOptions options;
  options.env = {{"PIPELINE_BASE_URL", "http://127.0.0.1:" + std::to_string(closed_port) + "/v1"},
                 {"PIPELINE_API_KEY", ""}, {"OPENROUTER_API_KEY", ""}, {"OPENAI_API_KEY", ""}};
  const auto result = run_pipeline({"doctor"}, options);
  CHECK(result.exit_code == 4);
  CHECK(result.err.find("could not reach") != std::string::npos);
}

TEST_CASE("doctor does not vouch for a key that GET /models ignores; --ping exits 4 on a refused key") {
  FakeLlmServer server;
  server.require_key("the-right-key");
  server.set_models_need_key(false);
  auto options = environment(server);
  options.env["OPENROUTER_API_KEY"] = "sk-or-v1-REVOKED-00112233445566778899";
  auto result = run_pipeline({"doctor"}, options);
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("key not verified (GET /models needs no key on this provider); use --ping to check it") !=
        std::string::npos);

  result = run_pipeline({"doctor", "--ping"}, options);
  CHECK(result.exit_code == 4);
  CHECK(result.err.find("pipeline: error: doctor: ping") != std::string::npos);
  CHECK(result.err.find("the API key was refused (HTTP 401)") != std::string::npos);
  CHECK((result.out + result.err).find("REVOKED") == std::string::npos);
}

TEST_CASE("doctor accepts a model that the server lists with its :latest tag") {
  FakeLlmServer server;
  server.set_models({"llama3.2:latest"});
  const auto result = run_pipeline({"doctor"}, environment(server, "llama3.2"));
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("llama3.2 is available") != std::string::npos);
}

namespace {

ScriptedReply with_fault(FaultKind kind, int status = 200, std::optional<std::string> retry_after = std::nullopt) {
  ScriptedReply reply;
  reply.fault = kind;
  reply.status = status;
  reply.retry_after = std::move(retry_after);
  return reply;
}

// The doctor's one-line error: the last line of stderr.
std::string last_line(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  return trimmed.substr(trimmed.rfind('\n') == std::string::npos ? 0 : trimmed.rfind('\n') + 1);
}

}  // namespace

TEST_CASE("doctor --ping passes when the ping's own small max_tokens cuts the answer") {
  FakeLlmServer server;
  // A model that thinks first spends the ping's 16 tokens before any content.
  ScriptedReply thinking = with_fault(FaultKind::raw);
  thinking.raw_pieces = {
      "data: {\"id\":\"gen-1\",\"model\":\"test-model\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
      "\"content\":\"\",\"reasoning\":\"The user wants the single word\"},\"finish_reason\":null}]}\n\n",
      "data: {\"id\":\"gen-1\",\"model\":\"test-model\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},"
      "\"finish_reason\":\"length\"}]}\n\n",
      "data: {\"id\":\"gen-1\",\"model\":\"test-model\",\"choices\":[],\"usage\":{\"prompt_tokens\":14,"
      "\"completion_tokens\":16,\"total_tokens\":30}}\n\n",
      "data: [DONE]\n\n"};
  server.enqueue(thinking);
  const auto result = run_pipeline({"doctor", "--ping", "--json"}, environment(server));
  INFO(result.err);
  CHECK(result.exit_code == 0);
  const auto json = nlohmann::json::parse(result.out);
  CHECK(json["ok"] == true);
  for (const auto& check : json["checks"]) {
    if (check["name"] != "ping") continue;
    CHECK(check["data"]["truncated"] == true);
    CHECK(check["data"]["usage"]["completion_tokens"] == 16);
    CHECK(check["detail"].get<std::string>().find("cut at the ping's max_tokens (16)") != std::string::npos);
  }
  CHECK(server.request_count() == 1);
}

TEST_CASE("doctor --ping exits 75 when temporary errors outlast its retries") {
  FakeLlmServer server;
  server.enqueue(with_fault(FaultKind::http_status, 503));
  server.enqueue(with_fault(FaultKind::http_status, 503));
  auto result = run_pipeline({"doctor", "--ping"}, environment(server));
  CHECK(result.exit_code == 75);
  CHECK(last_line(result.err).rfind("pipeline: error: doctor: ping: a one-line completion failed: the model request "
                                    "failed 2 times; last: HTTP 503",
                                    0) == 0);
  CHECK(server.request_count() == 2);

  server.enqueue(with_fault(FaultKind::http_status, 429, "0"));
  server.enqueue(with_fault(FaultKind::http_status, 429, "0"));
  result = run_pipeline({"doctor", "--ping"}, environment(server));
  CHECK(result.exit_code == 75);
  CHECK(result.err.find("HTTP 429") != std::string::npos);
}

TEST_CASE("the timeouts take durations like --deadline, by flag and by environment") {
  FakeLlmServer server;
  // Keep-alives only, for longer than the first-token timeout, on both of the ping's attempts.
  const auto stalled = [&server] {
    for (int i = 0; i < 2; ++i) {
      ScriptedReply reply = with_fault(FaultKind::stall_keepalive);
      reply.stall = std::chrono::milliseconds(3000);
      server.enqueue(reply);
    }
  };
  stalled();
  auto result = run_pipeline({"doctor", "--ping", "--first-token-timeout", "300ms"}, environment(server));
  CHECK(result.exit_code == 75);
  CHECK(result.err.find("nothing of the answer arrived within 0.3 s (--first-token-timeout)") != std::string::npos);

  stalled();
  auto options = environment(server);
  options.env["PIPELINE_FIRST_TOKEN_TIMEOUT"] = "0.4s";
  result = run_pipeline({"doctor", "--ping"}, options);
  CHECK(result.exit_code == 75);
  CHECK(result.err.find("nothing of the answer arrived within 0.4 s (--first-token-timeout)") != std::string::npos);

  // Plain numbers still mean seconds, and a generous timeout lets the same stall pass.
  ScriptedReply slow = with_fault(FaultKind::stall_keepalive);
  slow.stall = std::chrono::milliseconds(300);
  server.enqueue(slow);
  result = run_pipeline({"doctor", "--ping", "--first-token-timeout", "2", "--request-timeout", "1m", "--connect-timeout",
                         "1500ms"},
                        environment(server));
  CHECK(result.exit_code == 0);
}

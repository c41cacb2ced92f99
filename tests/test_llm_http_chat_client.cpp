#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "lib/llm/http_chat_client.hpp"
#include "lib/llm/schema_lowering.hpp"
#include "lib/llm/json_schema.hpp"
#include "lib/llm/rate_limiter.hpp"
#include "lib/llm/spend_guard.hpp"
#include "lib/llm/structured_output.hpp"
#include "lib/llm/token_estimate.hpp"
#include "lib/util/file_io.hpp"
#include "lib/util/log.hpp"
#include "tests/fake_server/fake_llm_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/scoped_env.hpp"

using namespace pipeline::llm;
using pipeline::testing::FakeLlmServer;
using pipeline::testing::FaultKind;
using pipeline::testing::Pace;
using pipeline::testing::ScriptedReply;
using pipeline::util::CancelToken;
using pipeline::util::Clock;
using pipeline::util::ErrorKind;
using pipeline::util::seconds_since;

namespace {

ClientConfig config_for(const FakeLlmServer& server) {
  ClientConfig config;
  config.base_url = server.base_url();
  config.model = "test-model";
  config.connect_timeout_s = 2;
  config.request_timeout_s = 10;
  config.idle_timeout_s = 5;
  config.max_retries = 3;
  config.backoff_base_s = 0.02;
  config.backoff_max_s = 0.1;
  return config;
}

ChatRequest hello_request() {
  ChatRequest request;
  request.messages = {{"system", "You write short answers."}, {"user", "Say something about refills."}};
  request.max_tokens = 200;
  return request;
}

// The hello request with another user message.
ChatRequest asking(const std::string& text) {
  ChatRequest request = hello_request();
  request.messages.back().content = text;
  return request;
}

// Sends `count` hello requests from as many threads at once; returns how many succeeded.
int complete_concurrently(HttpChatClient& client, int count) {
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < count; ++i) {
    threads.emplace_back([&] {
      if (client.complete(hello_request(), CancelToken{}).has_value()) ++succeeded;
    });
  }
  for (auto& thread : threads) thread.join();
  return succeeded.load();
}

const nlohmann::json k_chat_schema = nlohmann::json::parse(R"({
  "type": "object", "additionalProperties": false,
  "required": ["title", "pattern", "steps", "units"],
  "properties": {
    "title": {"type": "string", "minLength": 5, "maxLength": 48},
    "pattern": {"enum": ["convenience", "premiumisation", "format migration"]},
    "steps": {"type": "array", "minItems": 3, "maxItems": 3, "items": {"type": "string"}},
    "units": {"type": "integer", "minimum": 1, "maximum": 500}
  }
})");

ChatRequest schema_request() {
  ChatRequest request = hello_request();
  request.schema = k_chat_schema;
  request.schema_name = "card";
  return request;
}

std::string header(const FakeLlmServer& server, const std::string& name) {
  for (const auto& [key, value] : server.last_headers())
    if (key == name) return value;
  return "";
}

// The prompt tokens the fake server counts for the messages of request `index`.
std::int64_t server_prompt_tokens(const FakeLlmServer& server, std::size_t index) {
  return pipeline::testing::fake_usage(server.requests().at(index)["messages"], "")["prompt_tokens"];
}

ScriptedReply fault(FaultKind kind) {
  ScriptedReply reply;
  reply.fault = kind;
  return reply;
}

ScriptedReply http_error(int status, std::optional<std::string> retry_after = std::nullopt) {
  ScriptedReply reply = fault(FaultKind::http_status);
  reply.status = status;
  reply.retry_after = std::move(retry_after);
  return reply;
}

ScriptedReply answer_with(std::string content) {
  ScriptedReply reply;
  reply.content = std::move(content);
  return reply;
}

ScriptedReply stall_for(int ms) {
  ScriptedReply reply = fault(FaultKind::stall_keepalive);
  reply.stall = std::chrono::milliseconds(ms);
  return reply;
}

}  // namespace

TEST_CASE("a streamed answer arrives with usage and the documented headers") {
  FakeLlmServer server;
  HttpChatClient client(config_for(server));
  std::vector<Attempt> reported;
  std::vector<std::int64_t> progress;
  CallObserver observer{[&](const Attempt& attempt) { reported.push_back(attempt); },
                        [&](std::int64_t tokens) { progress.push_back(tokens); }};
  auto result = client.complete(hello_request(), CancelToken{}, observer);
  REQUIRE(result.has_value());
  CHECK(result->content.find("works because") != std::string::npos);
  CHECK(result->finish_reason == "stop");
  CHECK(result->model == "test-model");
  const auto expected = pipeline::testing::fake_usage(server.requests()[0]["messages"], result->content);
  CHECK(result->usage.prompt_tokens == expected["prompt_tokens"]);
  CHECK(result->usage.completion_tokens == expected["completion_tokens"]);
  REQUIRE(result->usage.cost_usd);
  CHECK(*result->usage.cost_usd == doctest::Approx(expected["cost"].get<double>()));
  REQUIRE(reported.size() == 1);
  CHECK(reported[0].http_status == 200);
  CHECK(reported[0].error_class.empty());
  REQUIRE(result->attempts.size() == 1);
  // Progress grows with the streamed text and ends near the completion tokens.
  REQUIRE(progress.size() > 3);
  CHECK(std::is_sorted(progress.begin(), progress.end()));
  CHECK(progress.back() == static_cast<std::int64_t>(result->content.size() / 4));

  const auto body = server.requests()[0];
  CHECK(body["stream"] == true);
  CHECK(body["stream_options"]["include_usage"] == true);
  CHECK(body["max_tokens"] == 200);
  CHECK_FALSE(body.contains("response_format"));
  CHECK(header(server, "user-agent") == std::string("pipeline/") + PIPELINE_VERSION);
  CHECK(header(server, "x-title") == "pipeline");
  CHECK_FALSE(header(server, "http-referer").empty());
  CHECK(header(server, "authorization").empty());
}

TEST_CASE("a non-streamed answer is read whole") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.stream = false;
  config.api_key = ApiKey{"sk-local-test-key-000111", "PIPELINE_API_KEY"};
  server.require_key("sk-local-test-key-000111");
  HttpChatClient client(config);
  auto result = client.complete(hello_request(), CancelToken{});
  REQUIRE(result.has_value());
  CHECK(result->finish_reason == "stop");
  CHECK(result->usage.completion_tokens == static_cast<std::int64_t>(result->content.size() / 4));
  CHECK_FALSE(server.requests()[0].contains("stream"));
  CHECK(header(server, "authorization") == "Bearer sk-local-test-key-000111");
}

TEST_CASE("structured output sends a strict json_schema and returns the validated document") {
  FakeLlmServer server;
  for (bool stream : {true, false}) {
    auto config = config_for(server);
    config.stream = stream;
    HttpChatClient client(config);
    auto result = client.complete(schema_request(), CancelToken{});
    REQUIRE(result.has_value());
    CHECK(validate_json(k_chat_schema, result->json).empty());
    CHECK(result->json == nlohmann::json::parse(result->content));
    const auto format = server.requests().back()["response_format"];
    CHECK(format["type"] == "json_schema");
    CHECK(format["json_schema"]["name"] == "card");
    CHECK(format["json_schema"]["strict"] == true);
    // The wire schema is the lowered one; the strings' lengths travel in words.
    CHECK(format["json_schema"]["schema"] == lower_schema(k_chat_schema, provider_profile(config, "test-model")));
    CHECK_FALSE(format["json_schema"]["schema"]["properties"]["title"].contains("maxLength"));
    CHECK(format["json_schema"]["schema"]["properties"]["title"]["description"] ==
          "Rules: at least 5 characters; at most 48 characters.");
  }
}

TEST_CASE("prompt mode puts the schema in the system prompt and still validates") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.forced_rung = StructuredRung::prompt;
  HttpChatClient client(config);
  server.enqueue(answer_with("Here you go:\n```json\n{\"title\": \"Refill club\", \"pattern\": "
                                          "\"convenience\", \"steps\": [\"a\", \"b\", \"c\"], \"units\": 12}\n```"));
  auto result = client.complete(schema_request(), CancelToken{});
  REQUIRE(result.has_value());
  CHECK(result->json["units"] == 12);
  auto second = client.complete(schema_request(), CancelToken{});
  REQUIRE(second.has_value());
  CHECK(validate_json(k_chat_schema, second->json).empty());
  const auto body = server.requests()[0];
  CHECK_FALSE(body.contains("response_format"));
  CHECK(schema_from_prompt(body["messages"][0]["content"]) == k_chat_schema);
}

TEST_CASE("each retryable fault is retried once and then succeeds") {
  struct Case {
    ScriptedReply reply;
    std::string error_class;
  };
  const std::vector<Case> cases = {
      {http_error(500), "http_500"},
      {http_error(502), "http_502"},
      {http_error(503), "http_503"},
      {http_error(504), "http_504"},
      {http_error(408), "http_408"},
      {http_error(429), "http_429"},
      {http_error(402, "0"), "http_402"},
      {fault(FaultKind::cut_mid_stream), "cut"},
      {fault(FaultKind::error_chunk_openai), "stream_error"},
      {fault(FaultKind::error_chunk_openrouter), "stream_error"},
  };
  for (bool stream : {true, false}) {
    for (const auto& c : cases) {
      CAPTURE(c.error_class);
      CAPTURE(stream);
      FakeLlmServer server;
      auto config = config_for(server);
      config.stream = stream;
      HttpChatClient client(config);
      server.enqueue(c.reply);
      auto result = client.complete(hello_request(), CancelToken{});
      REQUIRE(result.has_value());
      CHECK(server.request_count() == 2);
      REQUIRE(result->attempts.size() == 2);
      CHECK(result->attempts[0].error_class == c.error_class);
      CHECK(result->attempts[1].error_class.empty());
      CHECK(result->attempts[1].number == 2);
      CHECK(result->content.find("works because") != std::string::npos);
    }
  }
}

TEST_CASE("a cut or failed stream never passes for a short success") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.max_retries = 0;
  HttpChatClient client(config);
  for (auto kind : {FaultKind::cut_mid_stream, FaultKind::error_chunk_openai, FaultKind::error_chunk_openrouter}) {
    server.enqueue(fault(kind));
    auto result = client.complete(hello_request(), CancelToken{});
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == ErrorKind::transient);
  }
}

TEST_CASE("usage is summed over every attempt, failed ones included") {
  FakeLlmServer server;
  HttpChatClient client(config_for(server));
  server.enqueue(http_error(503));
  server.enqueue(fault(FaultKind::invalid_json));
  std::vector<Attempt> reported;
  CallObserver observer;
  observer.on_attempt = [&](const Attempt& a) { reported.push_back(a); };
  auto result = client.complete(schema_request(), CancelToken{}, observer);
  REQUIRE(result.has_value());
  REQUIRE(server.request_count() == 3);
  REQUIRE(reported.size() == 3);
  CHECK(reported[0].usage.prompt_tokens == 0);
  CHECK(reported[1].error_class == "invalid_json");
  CHECK(reported[1].usage.prompt_tokens == server_prompt_tokens(server, 1));
  CHECK(reported[2].usage.prompt_tokens == server_prompt_tokens(server, 2));
  CHECK(result->usage.prompt_tokens == server_prompt_tokens(server, 1) + server_prompt_tokens(server, 2));
  CHECK(result->usage.completion_tokens == reported[1].usage.completion_tokens + reported[2].usage.completion_tokens);
  REQUIRE(result->usage.cost_usd);
  CHECK(*result->usage.cost_usd == doctest::Approx(*reported[1].usage.cost_usd + *reported[2].usage.cost_usd));
}

TEST_CASE("Retry-After is honoured") {
  FakeLlmServer server;
  HttpChatClient client(config_for(server));
  server.enqueue(http_error(429, "1"));
  const auto start = Clock::now();
  auto result = client.complete(hello_request(), CancelToken{});
  const double elapsed = seconds_since(start);
  REQUIRE(result.has_value());
  CHECK(elapsed >= 0.95);
  CHECK(elapsed < 2.0);
  REQUIRE(result->attempts.size() == 2);
  CHECK(result->attempts[1].wait_before_s == doctest::Approx(1.0));
}

TEST_CASE("a Retry-After longer than the cap is cut to max_retry_after_s") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.max_retry_after_s = 0.3;
  HttpChatClient client(config);
  server.enqueue(http_error(503, "3600"));
  const auto start = Clock::now();
  auto result = client.complete(hello_request(), CancelToken{});
  REQUIRE(result.has_value());
  CHECK(seconds_since(start) < 1.5);
  CHECK(result->attempts[1].wait_before_s == doctest::Approx(0.3));
}

TEST_CASE("errors that need a person are not retried and say what to fix") {
  struct Case {
    int status;
    std::string says;
  };
  for (const auto& c : std::vector<Case>{{400, "rejected the request"},
                                         {401, "check PIPELINE_API_KEY"},
                                         {403, "refused the request"},
                                         {404, "check --model (test-model)"},
                                         {402, "add credit"},
                                         {501, "refused the request (HTTP 501)"},
                                         {505, "refused the request (HTTP 505)"}}) {
    CAPTURE(c.status);
    FakeLlmServer server;
    auto config = config_for(server);
    config.api_key = ApiKey{"sk-or-v1-abcdefghijklmnop0000", "PIPELINE_API_KEY"};
    HttpChatClient client(config);
    server.enqueue(http_error(c.status));
    auto result = client.complete(hello_request(), CancelToken{});
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == ErrorKind::provider);
    CHECK(pipeline::util::exit_code(result.error().kind) == 4);
    CHECK(result.error().code == "http_" + std::to_string(c.status));
    CHECK(result.error().message.find(c.says) != std::string::npos);
    CHECK(server.request_count() == 1);
  }
}

TEST_CASE("an unknown model is a provider error") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.model = "no-such-model";
  HttpChatClient client(config);
  auto result = client.complete(hello_request(), CancelToken{});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::provider);
  CHECK(result.error().message.find("no-such-model") != std::string::npos);
}

TEST_CASE("exhausted retries are a transient error naming the last failure") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.max_retries = 2;
  HttpChatClient client(config);
  for (int i = 0; i < 3; ++i) server.enqueue(http_error(503));
  auto result = client.complete(hello_request(), CancelToken{});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::transient);
  CHECK(result.error().code == "http_503");
  CHECK(result.error().message.find("3 times") != std::string::npos);
  CHECK(server.request_count() == 3);
}

TEST_CASE("a server that cannot be reached is retried, then transient") {
  int closed_port = 0;
  {
    FakeLlmServer gone;
    closed_port = gone.port();
  }
  ClientConfig config;
  config.base_url = "http://127.0.0.1:" + std::to_string(closed_port) + "/v1";
  config.model = "test-model";
  config.max_retries = 1;
  config.backoff_base_s = 0.01;
  HttpChatClient client(config);
  auto result = client.complete(hello_request(), CancelToken{});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::transient);
  // No attempt reached a provider: said plainly, with where to look.
  CHECK(result.error().code == "unreachable");
  CHECK(result.error().message.find("could not reach the provider at " + config.base_url + " in 2 attempts") == 0);
  CHECK(result.error().message.find("`pipeline doctor`") != std::string::npos);
  CHECK(result.error().message.find("scripts/run-example.sh --offline") != std::string::npos);
}

TEST_CASE("the first-token timeout fires on a stream that sends only keep-alives, whatever the idle timeout") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.first_token_timeout_s = 1;
  config.idle_timeout_s = 0.2;
  config.max_retries = 0;
  HttpChatClient client(config);
  server.enqueue(stall_for(6000));
  const auto start = Clock::now();
  auto result = client.complete(hello_request(), CancelToken{});
  const double elapsed = seconds_since(start);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::transient);
  CHECK(result.error().code == "first_token_timeout");
  CHECK(result.error().message.find("--first-token-timeout") != std::string::npos);
  CHECK(elapsed >= 0.95);
  CHECK(elapsed < 2.0);
}

TEST_CASE("a whole answer to a stream request, slower than the idle timeout, still succeeds") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.stream = true;
  config.idle_timeout_s = 0.4;
  HttpChatClient client(config);
  ScriptedReply reply = fault(FaultKind::ignore_stream);
  reply.stall = std::chrono::milliseconds(1600);  // eight parts, 200 ms apart
  server.enqueue(reply);
  const auto start = Clock::now();
  auto result = client.complete(hello_request(), CancelToken{});
  REQUIRE(result.has_value());
  CHECK(seconds_since(start) > 1.2);
  REQUIRE(result->attempts.size() == 1);
  CHECK(result->attempts[0].error_class.empty());
  CHECK(server.requests()[0]["stream"] == true);
  CHECK(result->content.find("friction") != std::string::npos);
  CHECK(result->usage.completion_tokens > 0);
}

TEST_CASE("sequential calls through one client share one TCP connection") {
  FakeLlmServer server;
  HttpChatClient client(config_for(server));
  for (int i = 0; i < 3; ++i) REQUIRE(client.complete(hello_request(), CancelToken{}).has_value());
  const auto ports = server.client_ports();
  REQUIRE(ports.size() == 3);
  CHECK(ports[0] > 0);
  CHECK(ports[1] == ports[0]);
  CHECK(ports[2] == ports[0]);
}

TEST_CASE("concurrent calls each get the reply matched by their message text") {
  FakeLlmServer server;
  server.set_pace(Pace{std::chrono::milliseconds(300), 0});
  // Queued in the opposite order of arrival, so only matching pairs them right.
  ScriptedReply pears = answer_with("An answer about pears.");
  pears.match = "Tell me about pears.";
  ScriptedReply apples = answer_with("An answer about apples.");
  apples.match = "Tell me about apples.";
  server.enqueue(pears);
  server.enqueue(apples);
  // Parameters known before the first request: no request waits for a first answer.
  auto config = config_for(server);
  config.model_parameters["test-model"] = ModelParameters{};
  HttpChatClient client(config);
  std::optional<pipeline::util::Expected<ChatResult>> apple_result;
  std::thread apple_call([&] { apple_result.emplace(client.complete(asking("Tell me about apples."), CancelToken{})); });
  while (server.request_count() < 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the apple request has taken its reply
  auto pear_result = client.complete(asking("Tell me about pears."), CancelToken{});
  apple_call.join();
  REQUIRE(apple_result.has_value());
  REQUIRE(apple_result->has_value());
  REQUIRE(pear_result.has_value());
  CHECK((*apple_result)->content == "An answer about apples.");
  CHECK(pear_result->content == "An answer about pears.");
  CHECK(server.max_in_flight() == 2);
}

TEST_CASE("keep-alive comments before the answer are skipped") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.idle_timeout_s = 2;
  HttpChatClient client(config);
  server.enqueue(stall_for(500));
  auto result = client.complete(hello_request(), CancelToken{});
  REQUIRE(result.has_value());
  CHECK(result->attempts.size() == 1);
  CHECK(result->content.find("works because") != std::string::npos);
}

TEST_CASE("the total timeout bounds one attempt") {
  FakeLlmServer server;
  server.set_pace(Pace{std::chrono::milliseconds(4000), 0});
  auto config = config_for(server);
  config.stream = false;
  config.request_timeout_s = 1;
  config.max_retries = 0;
  HttpChatClient client(config);
  const auto start = Clock::now();
  auto result = client.complete(hello_request(), CancelToken{});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == "timeout");
  CHECK(result.error().kind == ErrorKind::transient);
  CHECK(seconds_since(start) < 2.0);
}

TEST_CASE("a truncated answer is reported as such, never parsed") {
  FakeLlmServer server;
  HttpChatClient client(config_for(server));
  server.enqueue(fault(FaultKind::truncated));
  auto result = client.complete(schema_request(), CancelToken{});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::failed);
  CHECK(result.error().code == "truncated");
  CHECK(result.error().message.find("max_tokens") != std::string::npos);
  CHECK(server.request_count() == 1);
}

TEST_CASE("invalid JSON is re-asked with the problem and then accepted") {
  FakeLlmServer server;
  HttpChatClient client(config_for(server));
  server.enqueue(fault(FaultKind::invalid_json));
  auto result = client.complete(schema_request(), CancelToken{});
  REQUIRE(result.has_value());
  CHECK(validate_json(k_chat_schema, result->json).empty());
  REQUIRE(result->attempts.size() == 2);
  CHECK(result->attempts[0].error_class == "invalid_json");
  const auto messages = server.requests()[1]["messages"];
  REQUIRE(messages.size() == 4);
  CHECK(messages[2]["role"] == "assistant");
  CHECK(messages[2]["content"].get<std::string>().rfind("Here is the answer", 0) == 0);
  CHECK(messages[3]["role"] == "user");
  CHECK(messages[3]["content"].get<std::string>().find("no parsable JSON") != std::string::npos);
}

TEST_CASE("a schema violation is re-asked with the validation error") {
  FakeLlmServer server;
  HttpChatClient client(config_for(server));
  server.enqueue(answer_with(R"({"title": "Refill club", "pattern": "cheap", "steps": [], "units": 0})"));
  auto result = client.complete(schema_request(), CancelToken{});
  REQUIRE(result.has_value());
  REQUIRE(result->attempts.size() == 2);
  CHECK(result->attempts[0].error_class == "schema_violation");
  const std::string reask = server.requests()[1]["messages"][3]["content"];
  CHECK(reask.find("$.pattern") != std::string::npos);
  CHECK(reask.find("$.steps") != std::string::npos);
  CHECK(reask.find("$.units") != std::string::npos);
}

TEST_CASE("a re-ask quoting a long accented value is sent whole and valid UTF-8") {
  FakeLlmServer server;
  HttpChatClient client(config_for(server));
  // Each "é" is two bytes, so a cut at a byte count falls inside one of them at some offset.
  for (const std::string prefix : {"", "x"}) {
    CAPTURE(prefix);
    std::string accented = prefix;
    for (int i = 0; i < 40; ++i) accented += "é";
    server.enqueue(answer_with(R"({"title": "Refill club", "pattern": ")" + accented +
                               R"(", "steps": ["a", "b", "c"], "units": 3})"));
    const auto before = server.request_count();
    auto result = client.complete(schema_request(), CancelToken{});
    REQUIRE(result.has_value());
    REQUIRE(result->attempts.size() == 2);
    CHECK(result->attempts[0].error_class == "schema_violation");
    REQUIRE(server.request_count() == before + 2);
    const std::string reask = server.requests().back()["messages"][3]["content"];
    CHECK(reask.find("$.pattern") != std::string::npos);
    CHECK(reask.find("\xef\xbf\xbd") == std::string::npos);  // nothing was replaced: the cut kept whole characters
    CHECK(reask.find("ééé") != std::string::npos);
  }
}

TEST_CASE("invalid output after every re-ask fails with invalid_output") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.max_invalid_reasks = 1;
  HttpChatClient client(config);
  server.enqueue(fault(FaultKind::invalid_json));
  server.enqueue(fault(FaultKind::invalid_json));
  auto result = client.complete(schema_request(), CancelToken{});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::failed);
  CHECK(result.error().code == "invalid_output");
  CHECK(server.request_count() == 2);
}

TEST_CASE("a cancelled call stops within a second, in flight or in a backoff wait") {
  FakeLlmServer server;
  server.set_pace(Pace{std::chrono::milliseconds(8000), 0});
  for (bool in_backoff : {false, true}) {
    CAPTURE(in_backoff);
    if (in_backoff) {
      server.set_pace(Pace{});
      server.enqueue(http_error(429, "30"));
    }
    HttpChatClient client(config_for(server));
    CancelToken token;
    std::atomic<bool> cancelled_at_set{false};
    Clock::time_point cancelled_at;
    std::thread canceller([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(400));
      cancelled_at = Clock::now();
      cancelled_at_set = true;
      token.cancel();
    });
    auto result = client.complete(hello_request(), token);
    const auto returned = Clock::now();
    canceller.join();
    REQUIRE(cancelled_at_set);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == ErrorKind::interrupted);
    CHECK(std::chrono::duration<double>(returned - cancelled_at).count() < 1.0);
  }
}

TEST_CASE("a deadline ends a call as deadline, and a Retry-After past it is not waited for") {
  FakeLlmServer server;
  server.set_pace(Pace{std::chrono::milliseconds(8000), 0});
  HttpChatClient client(config_for(server));
  auto start = Clock::now();
  auto result = client.complete(hello_request(), CancelToken(Clock::now() + std::chrono::milliseconds(500)));
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::deadline);
  CHECK(seconds_since(start) < 1.5);

  server.set_pace(Pace{});
  server.enqueue(http_error(429, "20"));
  start = Clock::now();
  result = client.complete(hello_request(), CancelToken(Clock::now() + std::chrono::seconds(10)));
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::deadline);
  CHECK(seconds_since(start) < 1.0);
}

TEST_CASE("parallel calls are bounded by max_concurrency") {
  for (int limit : {2, 6}) {
    CAPTURE(limit);
    FakeLlmServer server;  // a fresh one counts in-flight requests from zero
    server.set_pace(Pace{std::chrono::milliseconds(250), 200});
    auto config = config_for(server);
    config.max_concurrency = limit;
    config.model_parameters["test-model"] = ModelParameters{};  // no wait for a first answer
    HttpChatClient bounded(config);
    CHECK(complete_concurrently(bounded, 6) == 6);
    CHECK(server.max_in_flight() == limit);
  }
}

TEST_CASE("the API key never appears in errors, attempts or log lines") {
  const std::string key = "sk-or-v1-LEAKCANARY-9f8e7d6c5b4a39281706";
  FakeLlmServer server;
  server.require_key("a-different-key");
  auto config = config_for(server);
  config.api_key = ApiKey{key, "PIPELINE_API_KEY"};
  HttpChatClient client(config);

  pipeline::testing::TempDir dir;
  const std::string log_path = dir / "stderr.txt";
  std::fflush(stderr);
  const int saved = ::dup(2);
  std::FILE* log = std::fopen(log_path.c_str(), "w");
  REQUIRE(log != nullptr);
  ::dup2(::fileno(log), 2);
  pipeline::util::set_verbose(true);

  std::vector<Attempt> reported;
  CallObserver observer;
  observer.on_attempt = [&](const Attempt& a) { reported.push_back(a); };
  server.enqueue(http_error(503));
  auto refused = client.complete(hello_request(), CancelToken{}, observer);
  server.require_key(key);
  server.enqueue(http_error(500));
  server.enqueue(fault(FaultKind::invalid_json));
  auto accepted = client.complete(schema_request(), CancelToken{}, observer);

  pipeline::util::set_verbose(false);
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::fclose(log);

  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().kind == ErrorKind::provider);
  CHECK(refused.error().message.find("check PIPELINE_API_KEY") != std::string::npos);
  CHECK(refused.error().message.find(key) == std::string::npos);
  REQUIRE(accepted.has_value());
  CHECK(header(server, "authorization") == "Bearer " + key);
  std::string everything = refused.error().message + refused.error().code;
  for (const auto& attempt : reported) everything += attempt.to_json().dump();
  for (const auto& attempt : accepted->attempts) everything += attempt.to_json().dump();
  auto logged = pipeline::util::read_file(log_path);
  REQUIRE(logged.has_value());
  CHECK(logged->find("retrying") != std::string::npos);  // the log did capture the calls
  everything += *logged;
  CHECK(everything.find(key) == std::string::npos);
  CHECK(everything.find("LEAKCANARY") == std::string::npos);
}

TEST_CASE("a provider error that quotes the key shows it masked") {
  const std::string key = "sk-or-v1-ECHOCANARY-0123456789abcdef";
  const ApiKey api_key{key, "PIPELINE_API_KEY"};
  FakeLlmServer server;
  auto config = config_for(server);
  config.api_key = api_key;
  HttpChatClient client(config);
  std::vector<Attempt> reported;
  CallObserver observer;
  observer.on_attempt = [&](const Attempt& a) { reported.push_back(a); };
  server.enqueue(fault(FaultKind::echo_authorization));
  auto result = client.complete(hello_request(), CancelToken{}, observer);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == "http_401");
  // The provider quoted the key; the error carries it masked instead.
  CHECK(result.error().message.find("Incorrect API key provided: " + api_key.masked()) != std::string::npos);
  CHECK(result.error().message.find(key) == std::string::npos);
  REQUIRE(reported.size() == 1);
  CHECK(reported[0].to_json().dump().find(key) == std::string::npos);
}

TEST_CASE("ChatRequest::check rejects a schema-valid answer and the re-ask carries its problem") {
  FakeLlmServer server;
  HttpChatClient client(config_for(server));
  const std::string steps = R"("pattern": "convenience", "steps": ["a", "b", "c"])";
  server.enqueue(answer_with(R"({"title": "Refill club", )" + steps + R"(, "units": 12})"));
  server.enqueue(answer_with(R"({"title": "Refill rescue", )" + steps + R"(, "units": 7})"));
  const std::string problem = "units must not be 12 in a card about refills";
  ChatRequest request = schema_request();
  std::vector<nlohmann::json> checked;
  request.check = [&](const nlohmann::json& answer) -> std::string {
    checked.push_back(answer);
    return answer["units"] == 12 ? problem : "";
  };
  auto result = client.complete(request, CancelToken{});
  REQUIRE(result.has_value());
  CHECK(result->json["units"] == 7);
  CHECK(result->json["title"] == "Refill rescue");
  CHECK(checked.size() == 2);
  REQUIRE(result->attempts.size() == 2);
  CHECK(result->attempts[0].error_class == "check_failed");
  CHECK(result->attempts[0].message == problem);
  CHECK(result->attempts[1].error_class.empty());
  REQUIRE(server.request_count() == 2);
  const auto messages = server.requests()[1]["messages"];
  REQUIRE(messages.size() == 4);
  CHECK(messages[2]["role"] == "assistant");
  CHECK(messages[2]["content"].get<std::string>().find("Refill club") != std::string::npos);
  CHECK(messages[3]["role"] == "user");
  CHECK(messages[3]["content"] == reask_text(StructuredCheck{{}, "check_failed", problem, {}}));
}

TEST_CASE("ChatRequest::check sees only schema-valid answers and its last problem ends the call") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.max_invalid_reasks = 1;
  HttpChatClient client(config);
  server.enqueue(fault(FaultKind::invalid_json));
  int checks = 0;
  ChatRequest request = schema_request();
  request.check = [&](const nlohmann::json&) -> std::string {
    ++checks;
    return "the steps must be in order";
  };
  auto result = client.complete(request, CancelToken{});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::failed);
  CHECK(result.error().code == "invalid_output");
  CHECK(result.error().message.find("the steps must be in order") != std::string::npos);
  CHECK(checks == 1);  // the invalid JSON never reached the check
  CHECK(server.request_count() == 2);
}

namespace {

// A config whose prices match what the fake server charges, and the worst-case cost of `request` under them.
ClientConfig priced_config_for(const FakeLlmServer& server) {
  auto config = config_for(server);
  config.prices = {{"test-model", Price{1, 2}}};
  return config;
}

double worst_case_usd(const ClientConfig& config, const ChatRequest& request) {
  return *SpendGuard(0, 0, config.prices).estimate("test-model", request.messages, request.max_tokens);
}

}  // namespace

TEST_CASE("a spend guard with room for one call refuses the second before sending it") {
  FakeLlmServer server;
  auto config = priced_config_for(server);
  const ChatRequest request = hello_request();
  auto guard = std::make_shared<SpendGuard>(worst_case_usd(config, request), 0, config.prices);
  config.spend_guard = guard;
  HttpChatClient client(config);
  auto first = client.complete(request, CancelToken{});
  REQUIRE(first.has_value());
  REQUIRE(first->usage.cost_usd);
  // Settled at the provider's cost, far below the worst case reserved.
  CHECK(guard->spent() == doctest::Approx(*first->usage.cost_usd));
  CHECK(guard->reserved() == 0);
  std::vector<Attempt> reported;
  CallObserver observer;
  observer.on_attempt = [&](const Attempt& a) { reported.push_back(a); };
  auto second = client.complete(request, CancelToken{}, observer);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().kind == ErrorKind::cost_limit);
  CHECK(second.error().message.find("(--max-cost)") != std::string::npos);
  CHECK(server.request_count() == 1);
  CHECK(reported.empty());
  CHECK(guard->reserved() == 0);
}

TEST_CASE("an HTTP error answer costs nothing, so retries do not eat the cap") {
  FakeLlmServer server;
  auto config = priced_config_for(server);
  const ChatRequest request = hello_request();
  auto guard = std::make_shared<SpendGuard>(worst_case_usd(config, request), 0, config.prices);
  config.spend_guard = guard;
  HttpChatClient client(config);
  server.enqueue(http_error(503));
  server.enqueue(http_error(500));
  auto result = client.complete(request, CancelToken{});
  REQUIRE(result.has_value());
  CHECK(server.request_count() == 3);
  CHECK(guard->spent() == doctest::Approx(*result->usage.cost_usd));
}

TEST_CASE("a spend guard without the model's price is a usage error and nothing is sent") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.spend_guard = std::make_shared<SpendGuard>(1.0, 0, std::map<std::string, Price>{});
  HttpChatClient client(config);
  auto result = client.complete(hello_request(), CancelToken{});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::usage);
  CHECK(result.error().message.find("test-model") != std::string::npos);
  CHECK(result.error().message.find("--prices") != std::string::npos);
  CHECK(server.request_count() == 0);
}

TEST_CASE("a Retry-After on one request holds back the other requests of the client") {
  FakeLlmServer server;
  ScriptedReply slow_down = http_error(429, "1");
  slow_down.match = "Tell me about apples.";
  server.enqueue(slow_down);
  HttpChatClient client(config_for(server));
  std::optional<pipeline::util::Expected<ChatResult>> apple_result;
  std::thread apple_call([&] {
    apple_result.emplace(client.complete(asking("Tell me about apples."), CancelToken{}));
  });
  while (server.request_count() < 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the client has read the 429
  const auto start = Clock::now();
  auto pear_result = client.complete(asking("Tell me about pears."), CancelToken{});
  const double pear_waited = seconds_since(start);
  apple_call.join();
  REQUIRE(pear_result.has_value());
  REQUIRE(apple_result.has_value());
  REQUIRE(apple_result->has_value());
  // Without the shared pause the pear request would start at once.
  CHECK(pear_waited >= 0.8);
  CHECK(pear_waited < 2.5);
  CHECK(pear_result->attempts.size() == 1);
  CHECK((*apple_result)->attempts.size() == 2);
  CHECK(server.request_count() == 3);
}

TEST_CASE("requests_per_minute spaces the starts of concurrent calls") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.requests_per_minute = 600;  // one start per 0.1 s
  config.max_concurrency = 4;
  HttpChatClient client(config);
  const auto start = Clock::now();
  CHECK(complete_concurrently(client, 4) == 4);
  CHECK(server.request_count() == 4);
  // The fourth start comes three intervals after the first.
  CHECK(seconds_since(start) >= 0.3);
}

TEST_CASE("the provider's x-ratelimit-* headers are learned: concurrent calls then stay under its limit") {
  FakeLlmServer server;
  server.set_provider_limits({3, 0, std::chrono::milliseconds(1000)});
  auto config = config_for(server);
  config.max_concurrency = 6;
  auto limiter = std::make_shared<LocalRateLimiter>(RateWindow{std::chrono::milliseconds(1000)});
  config.rate_limiter = limiter;
  HttpChatClient client(config);
  // The first answer says the limit: 3 requests a window.
  REQUIRE(client.complete(hello_request(), CancelToken{}).has_value());
  const auto start = Clock::now();
  CHECK(complete_concurrently(client, 5) == 5);
  CHECK(server.rate_limited_count() == 0);
  // 6 requests at 3 a window: the last ones wait for the first window to pass.
  CHECK(seconds_since(start) >= 0.9);
}

TEST_CASE("a request's own tokens_per_minute (a stage's tpm) holds its requests") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.rate_limiter = std::make_shared<LocalRateLimiter>(RateWindow{std::chrono::milliseconds(600)});
  HttpChatClient client(config);
  ChatRequest request = hello_request();
  // Each request is charged about 215 tokens (the prompt's estimate and max_tokens 200): one fits a window.
  request.tokens_per_minute = 300;
  const auto start = Clock::now();
  REQUIRE(client.complete(request, CancelToken{}).has_value());
  REQUIRE(client.complete(request, CancelToken{}).has_value());
  CHECK(seconds_since(start) >= 0.6);
  // Without it the same two go at once.
  const auto free_start = Clock::now();
  REQUIRE(client.complete(hello_request(), CancelToken{}).has_value());
  REQUIRE(client.complete(hello_request(), CancelToken{}).has_value());
  CHECK(seconds_since(free_start) < 0.5);
}

TEST_CASE("a 429 pauses every client that shares the limiter, until its Retry-After") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.rate_limiter = std::make_shared<LocalRateLimiter>();
  config.max_retry_after_s = 1;
  HttpChatClient first(config);
  HttpChatClient second(config);
  server.enqueue(http_error(429, "1"));
  std::thread refused([&] { CHECK(first.complete(hello_request(), CancelToken{}).has_value()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // The second client never saw the 429, but waits out its pause.
  const auto start = Clock::now();
  REQUIRE(second.complete(hello_request(), CancelToken{}).has_value());
  CHECK(seconds_since(start) >= 0.6);
  refused.join();
  CHECK(server.request_count() == 3);
}

TEST_CASE("a cancel stops a call waiting for its turn") {
  FakeLlmServer server;
  auto config = config_for(server);
  config.requests_per_minute = 1;  // one start a minute
  HttpChatClient client(config);
  REQUIRE(client.complete(hello_request(), CancelToken{}).has_value());
  CancelToken token;
  std::thread canceller([token] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    token.cancel();
  });
  const auto start = Clock::now();
  auto result = client.complete(hello_request(), token);
  canceller.join();
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::interrupted);
  CHECK(seconds_since(start) < 1.0);
  CHECK(server.request_count() == 1);
}

// Wire quirks of real servers, each replayed byte for byte through the fake server.
namespace {

// A reply of exactly these bytes, `stall_ms` apart.
ScriptedReply raw_reply(std::vector<std::string> pieces, int status = 200, int stall_ms = 0,
                        std::string content_type = "text/event-stream") {
  ScriptedReply reply = fault(FaultKind::raw);
  reply.status = status;
  reply.raw_pieces = std::move(pieces);
  reply.stall = std::chrono::milliseconds(stall_ms);
  reply.content_type = std::move(content_type);
  return reply;
}

// An observer that keeps every attempt reported.
CallObserver recording(std::vector<Attempt>& attempts) {
  CallObserver observer;
  observer.on_attempt = [&attempts](const Attempt& attempt) { attempts.push_back(attempt); };
  return observer;
}

// The error classes of a call's attempts, in order.
std::vector<std::string> error_classes(const std::vector<Attempt>& attempts) {
  std::vector<std::string> classes;
  for (const auto& attempt : attempts) classes.push_back(attempt.error_class);
  return classes;
}

const std::string k_openai_refusal_stream =
    "data: {\"id\":\"chatcmpl-AB1\",\"object\":\"chat.completion.chunk\",\"created\":1727000000,"
    "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,"
    "\"refusal\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-AB1\",\"object\":\"chat.completion.chunk\",\"created\":1727000000,"
    "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\"I'm sorry, I can't\"},"
    "\"logprobs\":null,\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-AB1\",\"object\":\"chat.completion.chunk\",\"created\":1727000000,"
    "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\" help with that.\"},"
    "\"logprobs\":null,\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-AB1\",\"object\":\"chat.completion.chunk\",\"created\":1727000000,"
    "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,"
    "\"finish_reason\":\"stop\"}]}\n\n"
    "data: {\"id\":\"chatcmpl-AB1\",\"object\":\"chat.completion.chunk\",\"created\":1727000000,"
    "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":{\"prompt_tokens\":310,\"completion_tokens\":9,"
    "\"total_tokens\":319}}\n\n"
    "data: [DONE]\n\n";

}  // namespace

TEST_CASE("OpenAI's streamed refusal stops the call at once: no re-ask, no retry") {
  FakeLlmServer server;
  server.enqueue(raw_reply({k_openai_refusal_stream}));
  HttpChatClient client(config_for(server));
  std::vector<Attempt> reported;
  auto result = client.complete(schema_request(), CancelToken{}, recording(reported));
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::failed);
  CHECK(result.error().code == "refused");
  CHECK(result.error().message == "the model refused: I'm sorry, I can't help with that.");
  CHECK(server.request_count() == 1);
  CHECK(error_classes(reported) == std::vector<std::string>{"refused"});
  CHECK(reported.at(0).usage.completion_tokens == 9);
}

TEST_CASE("a whole answer's message.refusal stops the call at once too") {
  FakeLlmServer server;
  server.enqueue(raw_reply(
      {R"({"id":"chatcmpl-AB2","object":"chat.completion","created":1727000000,"model":"gpt-4o-2024-08-06",)"
       R"("choices":[{"index":0,"message":{"role":"assistant","content":null,)"
       R"("refusal":"I can't assist with that request."},"logprobs":null,"finish_reason":"stop"}],)"
       R"("usage":{"prompt_tokens":310,"completion_tokens":8,"total_tokens":318}})"},
      200, 0, "application/json"));
  auto config = config_for(server);
  config.stream = false;
  HttpChatClient client(config);
  auto result = client.complete(schema_request(), CancelToken{});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::failed);
  CHECK(result.error().code == "refused");
  CHECK(result.error().message == "the model refused: I can't assist with that request.");
  CHECK(server.request_count() == 1);
}

TEST_CASE("OpenRouter's token-limit error chunk after finish_reason length is a truncation, usage kept") {
  FakeLlmServer server;
  server.enqueue(raw_reply({
      "data: {\"id\":\"gen-17\",\"provider\":\"OpenAI\",\"model\":\"openai/gpt-4o-mini\",\"object\":"
      "\"chat.completion.chunk\",\"created\":1740000000,\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
      "\"content\":\"{\\\"title\\\": \\\"Fresh\"},\"finish_reason\":null,\"native_finish_reason\":null}]}\n\n",
      "data: {\"id\":\"gen-17\",\"provider\":\"OpenAI\",\"model\":\"openai/gpt-4o-mini\",\"object\":"
      "\"chat.completion.chunk\",\"created\":1740000000,\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
      "\"content\":\"\"},\"finish_reason\":\"length\",\"native_finish_reason\":\"length\"}]}\n\n",
      "data: {\"id\":\"gen-17\",\"provider\":\"OpenAI\",\"model\":\"openai/gpt-4o-mini\",\"object\":"
      "\"chat.completion.chunk\",\"created\":1740000000,\"error\":{\"code\":400,\"message\":\"Token limit reached\"},"
      "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"error\"}]}\n\n",
      "data: {\"id\":\"gen-17\",\"provider\":\"OpenAI\",\"model\":\"openai/gpt-4o-mini\",\"object\":"
      "\"chat.completion.chunk\",\"created\":1740000000,\"choices\":[],\"usage\":{\"prompt_tokens\":512,"
      "\"completion_tokens\":200,\"total_tokens\":712,\"cost\":0.0001968}}\n\n",
      "data: [DONE]\n\n"}));
  HttpChatClient client(config_for(server));
  std::vector<Attempt> reported;
  auto result = client.complete(schema_request(), CancelToken{}, recording(reported));
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::failed);
  CHECK(result.error().code == "truncated");
  CHECK(result.error().message.find("max_tokens (200)") != std::string::npos);
  CHECK(server.request_count() == 1);
  REQUIRE(error_classes(reported) == std::vector<std::string>{"truncated"});
  CHECK(reported[0].usage.completion_tokens == 200);
  CHECK(reported[0].usage.cost_usd == 0.0001968);
}

TEST_CASE("llama.cpp's `error:` line before [DONE] is a failed attempt, retried") {
  FakeLlmServer server;
  const std::string frame =
      "error: {\"code\":500,\"message\":\"Failed to parse the generated output\",\"type\":\"server_error\"}\n\n"
      "data: [DONE]\n\n";
  server.enqueue(raw_reply({frame}));
  HttpChatClient client(config_for(server));
  auto retried = client.complete(hello_request(), CancelToken{});
  REQUIRE(retried.has_value());
  CHECK(error_classes(retried->attempts) == std::vector<std::string>{"stream_error", ""});
  CHECK(retried->attempts[0].message ==
        "the provider reported an error during the answer: Failed to parse the generated output (code 500)");

  auto config = config_for(server);
  config.max_retries = 0;
  HttpChatClient once(config);
  server.enqueue(raw_reply({frame}));
  auto failed = once.complete(hello_request(), CancelToken{});
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.error().kind == ErrorKind::transient);
  CHECK(failed.error().code == "stream_error");
}

TEST_CASE("a stream that ends with [DONE] after neither content nor a finish reason is not an answer") {
  FakeLlmServer server;
  server.enqueue(raw_reply({"data: [DONE]\n\n"}));
  server.enqueue(raw_reply({"data: {\"id\":\"x\",\"model\":\"test-model\",\"choices\":[{\"index\":0,"
                            "\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}\n\n",
                            "data: [DONE]\n\n"}));
  auto config = config_for(server);
  config.max_retries = 1;
  HttpChatClient client(config);
  auto result = client.complete(hello_request(), CancelToken{});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::transient);
  CHECK(result.error().code == "empty_answer");
  CHECK(result.error().message.find("neither content nor a finish reason") != std::string::npos);
  CHECK(server.request_count() == 2);
  // The next request gets the default answer: the client is not stuck.
  CHECK(client.complete(hello_request(), CancelToken{}).has_value());
}

namespace {

// Sends one request that `reply` answers and checks that it failed at once as
// a context-length error quoting `provider_words` and naming the token budgets.
void check_context_length(ScriptedReply reply, const std::string& provider_words) {
  FakeLlmServer server;
  server.enqueue(std::move(reply));
  HttpChatClient client(config_for(server));
  auto result = client.complete(hello_request(), CancelToken{});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::provider);
  CHECK(result.error().code == "context_length");
  CHECK(result.error().message.find(provider_words) != std::string::npos);
  CHECK(result.error().message.find("--set mechanisms.max_input_tokens=") != std::string::npos);
  CHECK(result.error().message.find("--structured-output") == std::string::npos);
  CHECK(server.request_count() == 1);
}

}  // namespace

TEST_CASE("llama.cpp's context-size error with code 400 inside HTTP 500 is permanent and names the budgets") {
  check_context_length(
      raw_reply({R"({"error":{"code":400,"message":"the request exceeds the available context size, try increasing )"
                 R"(it","type":"exceed_context_size_error","n_prompt_tokens":9312,"n_ctx":4096}})"},
                500, 0, "application/json; charset=utf-8"),
      "the request exceeds the available context size");
}

TEST_CASE("another 4xx-class code inside HTTP 500 is permanent too; a 5xx code inside is retried") {
  FakeLlmServer server;
  server.enqueue(raw_reply({R"({"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}})"},
                           500, 0, "application/json"));
  HttpChatClient client(config_for(server));
  auto refused = client.complete(hello_request(), CancelToken{});
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().kind == ErrorKind::provider);
  CHECK(refused.error().code == "http_500");
  CHECK(refused.error().message.find("(HTTP 401)") != std::string::npos);
  CHECK(refused.error().message.find("sent as HTTP 500") != std::string::npos);
  CHECK(server.request_count() == 1);

  server.enqueue(raw_reply({R"({"error":{"code":500,"message":"Internal Server Error","type":"server_error"}})"},
                           500, 0, "application/json"));
  auto retried = client.complete(hello_request(), CancelToken{});
  REQUIRE(retried.has_value());
  CHECK(error_classes(retried->attempts) == std::vector<std::string>{"http_500", ""});
}

TEST_CASE("context-length errors in OpenAI's, OpenRouter's and vLLM's words are permanent") {
  for (const std::string body : {
           R"({"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages )"
           R"(resulted in 204308 tokens. Please reduce the length of the messages.","type":"invalid_request_error",)"
           R"("param":"messages","code":"context_length_exceeded"}})",
           R"({"error":{"message":"This endpoint's maximum context length is 131072 tokens. However, you requested )"
           R"(about 138956 tokens (7884 of text input, 131072 in the output). Please reduce the length of either )"
           R"(one, or use the \"middle-out\" transform to compress your prompt automatically.","code":400}})",
           R"({"object":"error","message":"This model's maximum context length is 16384 tokens. However, you )"
           R"(requested 122946 tokens (112946 in the messages, 10000 in the completion). Please reduce the length )"
           R"(of the messages or completion.","type":"BadRequestError","param":null,"code":400})",
           R"({"error":{"message":"Provider returned error","code":400,"metadata":{"raw":"{\"error\":{\"message\":)"
           R"(\"This model's maximum context length is 8192 tokens.\",\"code\":\"context_length_exceeded\"}}",)"
           R"("provider_name":"Azure"}}})"}) {
    INFO(body);
    check_context_length(raw_reply({body}, 400, 0, "application/json"), "maximum context length");
  }
}

TEST_CASE("a context-length error sent as llama.cpp's `error:` line mid-stream is permanent") {
  check_context_length(
      raw_reply({"error: {\"code\":400,\"message\":\"the request exceeds the available context size, try increasing "
                 "it\",\"type\":\"exceed_context_size_error\",\"n_prompt_tokens\":9312,\"n_ctx\":4096}\n\n"
                 "data: [DONE]\n\n"}),
      "the request exceeds the available context size");
}

TEST_CASE("only choices[index 0] make the answer, streamed and whole") {
  FakeLlmServer server;
  server.enqueue(raw_reply({
      "data: {\"id\":\"c\",\"model\":\"test-model\",\"choices\":[{\"index\":1,\"delta\":{\"role\":\"assistant\","
      "\"content\":\"Second choice.\"},\"finish_reason\":null}]}\n\n",
      "data: {\"id\":\"c\",\"model\":\"test-model\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
      "\"content\":\"First choice.\"},\"finish_reason\":null}]}\n\n",
      "data: {\"id\":\"c\",\"model\":\"test-model\",\"choices\":[{\"index\":1,\"delta\":{},"
      "\"finish_reason\":\"length\"}]}\n\n",
      "data: {\"id\":\"c\",\"model\":\"test-model\",\"choices\":[{\"index\":0,\"delta\":{},"
      "\"finish_reason\":\"stop\"}]}\n\n",
      "data: [DONE]\n\n"}));
  HttpChatClient client(config_for(server));
  auto streamed = client.complete(hello_request(), CancelToken{});
  REQUIRE(streamed.has_value());
  CHECK(streamed->content == "First choice.");
  CHECK(streamed->finish_reason == "stop");

  server.enqueue(raw_reply({R"({"id":"c","model":"test-model","choices":[)"
                            R"({"index":1,"message":{"role":"assistant","content":"Second."},"finish_reason":"length"},)"
                            R"({"index":0,"message":{"role":"assistant","content":"First."},"finish_reason":"stop"}]})"},
                           200, 0, "application/json"));
  auto config = config_for(server);
  config.stream = false;
  HttpChatClient whole_client(config);
  auto whole = whole_client.complete(hello_request(), CancelToken{});
  REQUIRE(whole.has_value());
  CHECK(whole->content == "First.");
}

TEST_CASE("OpenRouter's wrapped upstream error shows the upstream words and provider on one line") {
  FakeLlmServer server;
  server.enqueue(raw_reply(
      {R"({"error":{"message":"Provider returned error","code":400,"metadata":{"raw":"{\n  \"error\": {\n    )"
       R"(\"message\": \"Invalid value for 'temperature': must be at most 2.\",\n    \"type\": )"
       R"(\"invalid_request_error\",\n    \"param\": \"temperature\",\n    \"code\": null\n  }\n}",)"
       R"("provider_name":"Azure"}},"user_id":"user_2x"})"},
      400, 0, "application/json"));
  HttpChatClient client(config_for(server));
  auto result = client.complete(hello_request(), CancelToken{});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::provider);
  CHECK(result.error().message.find("Provider returned error (code 400) [Azure: Invalid value for 'temperature': "
                                    "must be at most 2.]") != std::string::npos);
  CHECK(result.error().message.find('\n') == std::string::npos);
  CHECK(server.request_count() == 1);
}

TEST_CASE("reasoning deltas are progress for the idle timeout; keep-alives alone are not") {
  const auto reasoning_chunk = [](const std::string& field, const std::string& text) {
    return "data: {\"id\":\"r\",\"model\":\"test-model\",\"choices\":[{\"index\":0,\"delta\":{\"" + field +
           "\":\"" + text + "\"},\"finish_reason\":null}]}\n\n";
  };
  std::vector<std::string> thinking = {
      "data: {\"id\":\"r\",\"model\":\"test-model\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
      "\"content\":\"\"},\"finish_reason\":null}]}\n\n"};
  for (int i = 0; i < 4; ++i) {
    thinking.push_back(reasoning_chunk("reasoning", "Weighing option " + std::to_string(i) + ". "));
    thinking.push_back(reasoning_chunk("reasoning_content", "Still thinking. "));
  }
  thinking.push_back(
      "data: {\"id\":\"r\",\"model\":\"test-model\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Refills win.\"},"
      "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
  FakeLlmServer server;
  auto config = config_for(server);
  config.idle_timeout_s = 0.5;
  config.max_retries = 0;
  HttpChatClient client(config);
  // Ten pieces 250 ms apart: 2.25 s of thinking, far past the idle timeout.
  server.enqueue(raw_reply(thinking, 200, 250));
  const auto start = Clock::now();
  auto thought = client.complete(hello_request(), CancelToken{});
  REQUIRE(thought.has_value());
  CHECK(seconds_since(start) > 2.0);
  CHECK(thought->content == "Refills win.");

  // The same spacing with only keep-alive comments is no answer begun: the
  // first-token timeout decides, and cuts it off when it is short.
  std::vector<std::string> silent(thinking.size() - 1, ": OPENROUTER PROCESSING\n\n");
  silent.push_back(thinking.back());
  server.enqueue(raw_reply(silent, 200, 250));
  auto waited = client.complete(hello_request(), CancelToken{});
  REQUIRE(waited.has_value());
  CHECK(waited->content == "Refills win.");
  config.first_token_timeout_s = 0.5;
  HttpChatClient impatient(config);
  server.enqueue(raw_reply(silent, 200, 250));
  auto cut = impatient.complete(hello_request(), CancelToken{});
  REQUIRE_FALSE(cut.has_value());
  CHECK(cut.error().code == "first_token_timeout");
  // Thinking that stops mid-way is idle.
  std::vector<std::string> stalled(thinking.begin(), thinking.begin() + 3);
  stalled.insert(stalled.end(), 4, ": OPENROUTER PROCESSING\n\n");
  stalled.push_back(thinking.back());
  server.enqueue(raw_reply(stalled, 200, 250));
  auto stopped = client.complete(hello_request(), CancelToken{});
  REQUIRE_FALSE(stopped.has_value());
  CHECK(stopped.error().code == "idle_timeout");
}

TEST_CASE("parallel first requests to a provider that refuses the rung pay one refused request in all") {
  FakeLlmServer server;
  server.set_dialect(pipeline::testing::Dialect::anthropic);
  HttpChatClient client(config_for(server));
  constexpr int k_calls = 4;
  std::vector<std::string> rungs(k_calls);
  std::vector<std::thread> threads;
  for (int i = 0; i < k_calls; ++i) {
    threads.emplace_back([&, i] {
      auto result = client.complete(schema_request(), CancelToken{});
      if (result) rungs[i] = result->rung;
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& rung : rungs) CHECK(rung == "schema");
  // One strict request was refused (its schema keeps "minimum"); the others waited for its verdict.
  CHECK(server.request_count() == k_calls + 1);
  int strict = 0;
  for (const auto& body : server.requests()) strict += body["response_format"]["json_schema"]["strict"] == true;
  CHECK(strict == 1);
}

TEST_CASE("each rung sends what it promises, and the ladder stops at the first rung that answers") {
  SUBCASE("json-object-only: the schema moves into the system prompt") {
    FakeLlmServer server;
    server.set_dialect(pipeline::testing::Dialect::json_object_only);
    HttpChatClient client(config_for(server));
    auto result = client.complete(schema_request(), CancelToken{});
    REQUIRE(result.has_value());
    CHECK(result->rung == "json_object");
    REQUIRE(result->attempts.size() == 2);
    CHECK(result->attempts[0].error_class == "structured_output_refused");
    CHECK(result->attempts[0].http_status == 404);
    // The provider's words, not the advice to check --model that a refused request gets.
    CHECK(result->attempts[0].message.rfind("the provider refused structured output on the strict rung (HTTP 404: "
                                            "No endpoints found that can handle the requested parameters.",
                                            0) == 0);
    CHECK(result->attempts[0].message.find("asking on the json_object rung") != std::string::npos);
    CHECK(result->attempts[0].message.find("--model") == std::string::npos);
    const auto body = server.requests().back();
    CHECK(body["response_format"] == nlohmann::json{{"type", "json_object"}});
    CHECK(schema_from_prompt(body["messages"][0]["content"]) == k_chat_schema);
    // Learned: the next call asks on json_object at once.
    REQUIRE(client.complete(schema_request(), CancelToken{}).has_value());
    CHECK(server.request_count() == 3);
  }
  SUBCASE("no structured output at all: prompt only, after one refusal per rung") {
    FakeLlmServer server;
    server.set_dialect(pipeline::testing::Dialect::no_structured_output);
    HttpChatClient client(config_for(server));
    auto result = client.complete(schema_request(), CancelToken{});
    REQUIRE(result.has_value());
    CHECK(result->rung == "prompt");
    CHECK(server.request_count() == 3);
    CHECK_FALSE(server.requests().back().contains("response_format"));
  }
  SUBCASE("a learned rung from an earlier invocation is used at once") {
    FakeLlmServer server;
    server.set_dialect(pipeline::testing::Dialect::no_structured_output);
    auto config = config_for(server);
    config.learned_rungs = {{"test-model", StructuredRung::prompt}};
    HttpChatClient client(config);
    REQUIRE(client.complete(schema_request(), CancelToken{}).has_value());
    CHECK(server.request_count() == 1);
  }
  SUBCASE("OpenRouter is asked to route only to providers that take response_format") {
    auto config = config_for(FakeLlmServer());
    config.base_url = "https://openrouter.ai/api/v1";
    const auto profile = provider_profile(config, "anthropic/claude-sonnet-4.5");
    CHECK(profile.dialect == "anthropic");
    auto request = schema_request();
    const auto parameters = table_parameters(config.base_url, "anthropic/claude-sonnet-4.5");
    const auto strict =
        chat_request_body(request, request.messages, config, profile, StructuredRung::strict_schema, parameters);
    CHECK(strict["provider"]["require_parameters"] == true);
    CHECK(strict["usage"]["include"] == true);
    CHECK_FALSE(strict["response_format"]["json_schema"]["schema"]["properties"]["units"].contains("minimum"));
    const auto plain = chat_request_body(request, request.messages, config, profile, StructuredRung::prompt, parameters);
    CHECK_FALSE(plain.contains("provider"));
    CHECK_FALSE(plain.contains("response_format"));
  }
}

TEST_CASE("a shared message is a cache_control block where the profile needs it, and the cache key goes to OpenAI") {
  auto config = config_for(FakeLlmServer());
  auto request = schema_request();
  request.messages = {{"system", "Static instructions.", true}, {"user", "Shared data.", true}, {"user", "This card."}};
  request.cache_key = "run-1/opportunities";
  SUBCASE("Anthropic through OpenRouter: breakpoints on the shared messages, no key") {
    config.base_url = "https://openrouter.ai/api/v1";
    const auto profile = provider_profile(config, "anthropic/claude-sonnet-4");
    CHECK(profile.cache_control);
    const auto body = chat_request_body(request, request.messages, config, profile, StructuredRung::strict_schema,
                                        table_parameters(config.base_url, "anthropic/claude-sonnet-4"));
    const auto& messages = body["messages"];
    for (int i : {0, 1}) {
      REQUIRE(messages[i]["content"].is_array());
      CHECK(messages[i]["content"][0]["cache_control"] == nlohmann::ordered_json({{"type", "ephemeral"}}));
    }
    CHECK(messages[1]["content"][0]["text"] == "Shared data.");
    CHECK(messages[2]["content"] == "This card.");
    CHECK_FALSE(body.contains("prompt_cache_key"));
  }
  SUBCASE("Gemini through OpenRouter: breakpoints too") {
    config.base_url = "https://openrouter.ai/api/v1";
    CHECK(provider_profile(config, "google/gemini-2.5-pro").cache_control);
  }
  SUBCASE("OpenAI: plain text and the key") {
    config.base_url = "https://api.openai.com/v1";
    const auto profile = provider_profile(config, "gpt-4.1");
    CHECK_FALSE(profile.cache_control);
    const auto body = chat_request_body(request, request.messages, config, profile, StructuredRung::strict_schema,
                                        table_parameters(config.base_url, "gpt-4.1"));
    CHECK(body["messages"][1]["content"] == "Shared data.");
    CHECK(body["prompt_cache_key"] == "run-1/opportunities");
  }
  SUBCASE("OpenAI's models through OpenRouter, and unknown servers: neither") {
    config.base_url = "https://openrouter.ai/api/v1";
    const auto routed = provider_profile(config, "openai/gpt-4.1");
    CHECK_FALSE(routed.prompt_cache_key);
    CHECK_FALSE(routed.cache_control);
    config.base_url = "https://llm.example.com/v1";
    const auto generic = provider_profile(config, "some-model");
    const auto body = chat_request_body(request, request.messages, config, generic, StructuredRung::strict_schema,
                                        table_parameters(config.base_url, "some-model"));
    CHECK_FALSE(body.contains("prompt_cache_key"));
    CHECK(body["messages"][1]["content"] == "Shared data.");
  }
}

TEST_CASE("an answer whose only faults are style is kept with warnings once the re-asks are spent") {
  FakeLlmServer server;
  HttpChatClient client(config_for(server));
  // "Tiny" breaks minLength 5, a style rule; everything else holds.
  const std::string styled = R"({"title": "Tiny", "pattern": "convenience", "steps": ["a", "b", "c"], "units": 12})";
  for (int i = 0; i < 3; ++i) server.enqueue(answer_with(styled));
  auto result = client.complete(schema_request(), CancelToken{});
  REQUIRE(result.has_value());
  CHECK(server.request_count() == 3);
  REQUIRE(result->warnings.size() == 1);
  CHECK(result->warnings[0] == "$.title: is 4 characters long, shorter than minLength 5");
  CHECK(result->json["title"] == "Tiny");
  CHECK(result->attempts.back().error_class == "style_violation");

  // The same count of contract faults fails the call.
  const std::string broken = R"({"title": "Tiny", "pattern": "convenience", "steps": ["a"], "units": 12})";
  for (int i = 0; i < 3; ++i) server.enqueue(answer_with(broken));
  auto failed = client.complete(schema_request(), CancelToken{});
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.error().code == "invalid_output");
}

TEST_CASE("an answer without usage counts as unreported, with estimated tokens") {
  FakeLlmServer server;
  server.set_dialect(pipeline::testing::Dialect::no_usage);
  for (bool stream : {true, false}) {
    CAPTURE(stream);
    auto config = config_for(server);
    config.stream = stream;
    HttpChatClient one(config);
    auto result = one.complete(hello_request(), CancelToken{});
    REQUIRE(result.has_value());
    CHECK(result->usage.unreported_calls == 1);
    CHECK(result->usage.prompt_tokens == 0);
    CHECK(result->usage.estimated_prompt_tokens == estimate_prompt_tokens(hello_request().messages));
    CHECK(result->usage.estimated_completion_tokens == estimate_tokens(result->content));
    CHECK(result->usage.to_json()["prompt_tokens"].is_null());
  }
}

TEST_CASE("the model that answered is the one the chunks name, as OpenRouter reports a fallback") {
  FakeLlmServer server;
  // OpenRouter asked for one model, answered with another: every chunk says which.
  server.enqueue(raw_reply(
      {"data: {\"id\":\"gen-1\",\"object\":\"chat.completion.chunk\",\"model\":\"mistralai/mistral-small-3.2\","
       "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Refills win.\"},"
       "\"finish_reason\":null}]}\n\n",
       "data: {\"id\":\"gen-1\",\"object\":\"chat.completion.chunk\",\"model\":\"mistralai/mistral-small-3.2\","
       "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
       "\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":3}}\n\n",
       "data: [DONE]\n\n"}));
  HttpChatClient client(config_for(server));
  auto result = client.complete(hello_request(), CancelToken{});
  REQUIRE(result.has_value());
  CHECK(result->model == "mistralai/mistral-small-3.2");
  CHECK(server.requests().back()["model"] == "test-model");
  CHECK(result->usage.prompt_tokens == 20);
}

TEST_CASE("each failed attempt says what follows it") {
  FakeLlmServer server;
  for (int i = 0; i < 4; ++i) server.enqueue(http_error(503));
  HttpChatClient client(config_for(server));
  std::vector<Attempt> reported;
  auto result = client.complete(hello_request(), CancelToken{}, recording(reported));
  REQUIRE_FALSE(result.has_value());
  REQUIRE(reported.size() == 4);
  for (std::size_t i = 0; i + 1 < reported.size(); ++i) CHECK(reported[i].then == "retry");
  // The last one is not followed by a retry, and says so.
  CHECK(reported.back().then.empty());
  CHECK(reported.back().to_json()["then"] == "");

}

TEST_CASE("a style answer kept after the re-asks is reported as kept, not as failed for good") {
  FakeLlmServer server;
  const std::string styled = R"({"title": "Tiny", "pattern": "convenience", "steps": ["a", "b", "c"], "units": 12})";
  for (int i = 0; i < 3; ++i) server.enqueue(answer_with(styled));
  HttpChatClient client(config_for(server));
  std::vector<Attempt> reported;
  REQUIRE(client.complete(schema_request(), CancelToken{}, recording(reported)).has_value());
  REQUIRE(reported.size() == 3);
  CHECK(reported[0].then == "reask");
  CHECK(reported[1].then == "reask");
  CHECK(reported[2].then == "kept");
}

namespace {

// Requests the client sent with `name` set (the fake keeps every body it received).
int requests_with(const FakeLlmServer& server, const char* name) {
  int count = 0;
  for (const auto& body : server.requests()) count += body.contains(name) ? 1 : 0;
  return count;
}

int parameter_refusals(const ChatResult& result) {
  int count = 0;
  for (const auto& attempt : result.attempts) count += attempt.error_class == "parameter_refused" ? 1 : 0;
  return count;
}

// The server playing OpenAI's reasoning models with `model` as its one model, and a client config asking it.
ClientConfig reasoning_config_for(FakeLlmServer& server, const std::string& model) {
  server.set_dialect(pipeline::testing::Dialect::openai_reasoning);
  server.set_models({model});
  auto config = config_for(server);
  config.model = model;
  return config;
}

}  // namespace

TEST_CASE("OpenAI's reasoning models are asked with what they take, known from the table: no refusal") {
  FakeLlmServer server;
  auto config = reasoning_config_for(server, "gpt-5-mini");
  config.reasoning_effort = "low";
  HttpChatClient client(config);
  auto result = client.complete(schema_request(), CancelToken{});
  REQUIRE(result.has_value());
  CHECK(server.request_count() == 1);
  const auto body = server.requests().at(0);
  CHECK(body["max_completion_tokens"] == schema_request().max_tokens);
  CHECK_FALSE(body.contains("max_tokens"));
  CHECK_FALSE(body.contains("temperature"));
  CHECK(body["reasoning_effort"] == "low");
  // Thinking is billed as completion tokens and reported apart.
  CHECK(result->usage.reasoning_tokens == 64);
  CHECK(result->usage.completion_tokens > 64);
  CHECK(result->parameters["known_from"].get<std::string>().find("the table") == 0);
}

TEST_CASE("an unknown reasoning model costs one refused request per parameter, once per client") {
  FakeLlmServer server;
  auto config = reasoning_config_for(server, "house-thinker");
  HttpChatClient client(config);
  auto first = client.complete(schema_request(), CancelToken{});
  REQUIRE(first.has_value());
  CHECK(server.request_count() == 3);
  CHECK(parameter_refusals(*first) == 2);
  CHECK(first->attempts.at(0).then == "fix_parameter");
  CHECK(first->attempts.at(0).message.find("max_tokens") != std::string::npos);
  CHECK(first->attempts.at(1).message.find("temperature") != std::string::npos);
  CHECK(first->parameters["learned"] == nlohmann::json::array({"max_tokens", "temperature"}));
  auto second = client.complete(schema_request(), CancelToken{});
  REQUIRE(second.has_value());
  CHECK(server.request_count() == 4);
  CHECK(parameter_refusals(*second) == 0);

  // What a run kept of it: a new client starts from there and pays nothing.
  auto learned = config;
  learned.model_parameters["house-thinker"] = ModelParameters::from_json(first->parameters);
  HttpChatClient resumed(learned);
  REQUIRE(resumed.complete(schema_request(), CancelToken{}).has_value());
  CHECK(server.request_count() == 5);
}

TEST_CASE("parallel requests of an unknown model pay one refusal per parameter between them") {
  FakeLlmServer server;
  server.set_pace(Pace{std::chrono::milliseconds(100), 0});
  auto config = reasoning_config_for(server, "house-thinker");
  HttpChatClient client(config);
  std::atomic<int> refusals{0};
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      auto result = client.complete(hello_request(), CancelToken{});
      if (!result) return;
      ++answered;
      refusals += parameter_refusals(*result);
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(answered == 6);
  CHECK(refusals == 2);
  CHECK(server.request_count() == 8);
  CHECK(requests_with(server, "max_tokens") == 1);
  CHECK(requests_with(server, "temperature") == 2);
}

TEST_CASE("the body carries only the parameters the model takes, in the form its provider wants") {
  ClientConfig config;
  config.base_url = "https://openrouter.ai/api/v1";
  config.reasoning_effort = "high";
  auto request = schema_request();
  request.temperature = 0.3;
  const auto profile = provider_profile(config, "openai/gpt-5-mini");
  auto parameters = table_parameters(config.base_url, "openai/gpt-5-mini");
  auto body = chat_request_body(request, request.messages, config, profile, StructuredRung::strict_schema, parameters);
  CHECK(body["max_tokens"] == request.max_tokens);
  CHECK_FALSE(body.contains("temperature"));
  CHECK(body["reasoning"] == nlohmann::ordered_json{{"effort", "high"}, {"exclude", true}});
  CHECK_FALSE(body.contains("reasoning_effort"));
  config.keep_reasoning = true;
  request.reasoning_effort = "minimal";  // a stage's own effort wins over the run's
  body = chat_request_body(request, request.messages, config, profile, StructuredRung::strict_schema, parameters);
  CHECK(body["reasoning"] == nlohmann::ordered_json{{"effort", "minimal"}});

  // Elsewhere it is reasoning_effort; a model that takes none gets none; developer role where learned.
  config.base_url = "http://127.0.0.1:9/v1";
  parameters.reasoning_effort = false;
  parameters.system_role = "developer";
  body = chat_request_body(request, request.messages, config, profile, StructuredRung::strict_schema, parameters);
  CHECK_FALSE(body.contains("reasoning_effort"));
  CHECK_FALSE(body.contains("reasoning"));
  CHECK(body["messages"][0]["role"] == "developer");
  CHECK(body["messages"][1]["role"] == "user");
  // The OpenRouter extras go by host: a path that merely names openrouter.ai gets none.
  config.base_url = "http://127.0.0.1:9/openrouter.ai/v1";
  body = chat_request_body(request, request.messages, config, profile, StructuredRung::strict_schema, parameters);
  CHECK_FALSE(body.contains("usage"));
  CHECK_FALSE(body.contains("provider"));
}

TEST_CASE("the schema goes on the wire in its authored order, not alphabetically") {
  FakeLlmServer server;
  HttpChatClient client(config_for(server));
  REQUIRE(client.complete(schema_request(), CancelToken{}).has_value());
  const auto raw = server.raw_requests().at(0);
  const auto sent = nlohmann::ordered_json::parse(raw);
  std::vector<std::string> order;
  for (const auto& [name, value] : sent["response_format"]["json_schema"]["schema"]["properties"].items())
    order.push_back(name);
  std::vector<std::string> required;
  for (const auto& name : k_chat_schema["required"]) required.push_back(name.get<std::string>());
  CHECK(order == required);
}

TEST_CASE("--keep-reasoning keeps what OpenRouter sends of the thinking; otherwise it is asked to leave it out") {
  FakeLlmServer server;
  server.set_dialect(pipeline::testing::Dialect::openrouter);
  server.set_models({"openai/gpt-5-mini"});
  // The fake stands in for openrouter.ai as an HTTP proxy: no name is looked up.
  pipeline::testing::ScopedEnv proxy("http_proxy", "http://127.0.0.1:" + std::to_string(server.port()));
  pipeline::testing::ScopedEnv no_proxy("no_proxy", std::nullopt);
  pipeline::testing::ScopedEnv no_proxy_upper("NO_PROXY", std::nullopt);
  auto config = config_for(server);
  config.base_url = "http://openrouter.ai/api/v1";
  config.model = "openai/gpt-5-mini";
  config.reasoning_effort = "low";
  config.model_parameters["openai/gpt-5-mini"] = with_supported_parameters(
      table_parameters(config.base_url, config.model),
      pipeline::testing::openrouter_supported_parameters("openai/gpt-5-mini"));
  HttpChatClient quiet(config);
  auto result = quiet.complete(schema_request(), CancelToken{});
  REQUIRE(result.has_value());
  CHECK(result->reasoning.empty());
  CHECK(server.requests().back()["reasoning"]["exclude"] == true);
  CHECK(server.requests().back()["provider"]["require_parameters"] == true);
  config.keep_reasoning = true;
  HttpChatClient keeping(config);
  result = keeping.complete(schema_request(), CancelToken{});
  REQUIRE(result.has_value());
  CHECK(result->reasoning.find("weigh") != std::string::npos);
  CHECK(result->content.find("weigh") == std::string::npos);
  CHECK(server.request_count() == 2);
}

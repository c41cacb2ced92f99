#include <doctest/doctest.h>

#include <thread>

#include <curl/curl.h>

#include "lib/llm/curl_transport.hpp"
#include "tests/fake_server/fake_llm_server.hpp"

using namespace pipeline::llm;
using pipeline::testing::FakeLlmServer;
using pipeline::testing::ScriptedReply;
using pipeline::util::CancelToken;
using pipeline::util::Clock;
using pipeline::util::seconds_since;

namespace {

HttpRequest chat_post(const FakeLlmServer& server, bool stream) {
  HttpRequest request;
  request.url = server.base_url() + "/chat/completions";
  request.headers = {"Content-Type: application/json"};
  nlohmann::json body = {{"model", "test-model"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  if (stream) body["stream"] = true;
  request.body = body.dump();
  request.total_timeout_s = 10;
  return request;
}

BodySink collect(std::string& body) {
  return [&body](std::string_view bytes, int) {
    body.append(bytes);
    return 1;
  };
}

}  // namespace

TEST_CASE("a GET and a POST return status and body, over a reused transport") {
  FakeLlmServer server;
  CurlTransport transport;
  HttpRequest get;
  get.method = "GET";
  get.url = server.base_url() + "/models";
  std::string body;
  auto outcome = transport.perform(get, collect(body), CancelToken{});
  CHECK(outcome.status == 200);
  CHECK(outcome.curl_code == 0);
  CHECK(nlohmann::json::parse(body)["data"][0]["id"] == "test-model");

  for (int i = 0; i < 3; ++i) {
    body.clear();
    outcome = transport.perform(chat_post(server, false), collect(body), CancelToken{});
    CHECK(outcome.status == 200);
    CHECK(nlohmann::json::parse(body)["choices"][0]["finish_reason"] == "stop");
  }
  CHECK(transport.connections_opened() == 1);
}

TEST_CASE("the status and Retry-After of an error answer are reported") {
  FakeLlmServer server;
  ScriptedReply reply;
  reply.fault = pipeline::testing::FaultKind::http_status;
  reply.status = 429;
  reply.retry_after = "12";
  server.enqueue(reply);
  CurlTransport transport;
  std::string body;
  auto outcome = transport.perform(chat_post(server, false), collect(body), CancelToken{});
  CHECK(outcome.status == 429);
  CHECK(outcome.retry_after == std::optional<std::string>("12"));
  CHECK(body.find("error") != std::string::npos);
}

TEST_CASE("bytes that complete no progress event do not end the wait for the first progress") {
  FakeLlmServer server;
  ScriptedReply reply;
  reply.fault = pipeline::testing::FaultKind::stall_keepalive;
  reply.stall = std::chrono::milliseconds(5000);
  server.enqueue(reply);
  CurlTransport transport;
  auto request = chat_post(server, true);
  request.first_progress_timeout_s = 0.6;
  request.idle_timeout_s = 0.1;  // only once progress has come
  int chunks = 0;
  const auto start = Clock::now();
  auto outcome = transport.perform(
      request,
      [&chunks](std::string_view, int) {
        ++chunks;
        return 0;
      },
      CancelToken{});
  CHECK(outcome.stop == HttpOutcome::Stop::first_progress);
  CHECK(chunks >= 2);  // keep-alives did arrive
  CHECK(seconds_since(start) < 1.5);
}

TEST_CASE("every byte of a whole 2xx answer resets the idle timer; an event stream's do not") {
  FakeLlmServer server;
  ScriptedReply reply;
  reply.fault = pipeline::testing::FaultKind::ignore_stream;
  reply.stall = std::chrono::milliseconds(1600);  // eight parts, 200 ms apart
  server.enqueue(reply);
  CurlTransport transport;
  auto request = chat_post(server, true);
  request.idle_timeout_s = 0.5;
  std::string body;
  auto no_events = [&body](std::string_view bytes, int) {
    body.append(bytes);
    return 0;
  };
  auto outcome = transport.perform(request, no_events, CancelToken{});
  CHECK(outcome.stop == HttpOutcome::Stop::none);
  CHECK(outcome.status == 200);
  CHECK(outcome.content_type == "application/json");
  CHECK(outcome.duration_s > 1.2);
  CHECK(nlohmann::json::parse(body)["choices"][0]["finish_reason"] == "stop");

  // The same slow start on an event stream is no progress.
  server.set_pace(pipeline::testing::Pace{std::chrono::milliseconds(1500), 0});
  body.clear();
  request.first_progress_timeout_s = 0.5;
  outcome = transport.perform(request, no_events, CancelToken{});
  CHECK(outcome.stop == HttpOutcome::Stop::first_progress);
  CHECK(outcome.content_type == "text/event-stream");
}

TEST_CASE("a long silence before the first progress is no idle time; a stall after it is") {
  FakeLlmServer server;
  server.set_pace(pipeline::testing::Pace{std::chrono::milliseconds(1500), 0});
  CurlTransport transport;
  auto request = chat_post(server, true);
  request.first_progress_timeout_s = 10;
  request.idle_timeout_s = 0.5;
  auto every_chunk_is_progress = [](std::string_view bytes, int) { return bytes.find("data:") != std::string::npos ? 1 : 0; };
  auto outcome = transport.perform(request, every_chunk_is_progress, CancelToken{});
  CHECK(outcome.stop == HttpOutcome::Stop::none);
  CHECK(outcome.duration_s > 1.4);

  // A stream that starts, then stalls past the idle timeout, is idle.
  server.set_pace(pipeline::testing::Pace{std::chrono::milliseconds(0), 1.0});  // a token a second
  outcome = transport.perform(request, every_chunk_is_progress, CancelToken{});
  CHECK(outcome.stop == HttpOutcome::Stop::idle);
}

TEST_CASE("a cancelled token abandons a transfer within a fraction of a second") {
  FakeLlmServer server;
  server.set_pace(pipeline::testing::Pace{std::chrono::milliseconds(5000), 0});
  CurlTransport transport;
  CancelToken token;
  std::thread canceller([token] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    token.cancel();
  });
  std::string body;
  const auto start = Clock::now();
  auto outcome = transport.perform(chat_post(server, false), collect(body), token);
  canceller.join();
  CHECK(outcome.stop == HttpOutcome::Stop::cancelled);
  CHECK(seconds_since(start) < 0.6);
}

TEST_CASE("a refused connection and a malformed URL are told apart") {
  int closed_port = 0;
  {
    FakeLlmServer gone;
    closed_port = gone.port();
  }
  CurlTransport transport;
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(closed_port) + "/v1/models";
  request.method = "GET";
  std::string body;
  auto outcome = transport.perform(request, collect(body), CancelToken{});
  CHECK(outcome.status == 0);
  CHECK(outcome.curl_code != 0);
  CHECK_FALSE(outcome.curl_error.empty());
  CHECK_FALSE(CurlTransport::is_permanent_failure(outcome.curl_code));

  request.url = "htp:/nonsense";
  outcome = transport.perform(request, collect(body), CancelToken{});
  CHECK(CurlTransport::is_permanent_failure(outcome.curl_code));
}

TEST_CASE("configure_handle sets options on the transfer's handle, and the next transfer has none of them") {
  FakeLlmServer server;
  CurlTransport transport;
  auto user_agent = [&server] {
    std::string agent;
    for (const auto& [name, value] : server.last_headers())
      if (name == "user-agent") agent = value;
    return agent;
  };
  auto request = chat_post(server, false);
  int calls = 0;
  request.configure_handle = [&calls](void* handle) {
    ++calls;
    curl_easy_setopt(static_cast<CURL*>(handle), CURLOPT_USERAGENT, "configured-agent/1");
  };
  std::string body;
  CHECK(transport.perform(request, collect(body), CancelToken{}).status == 200);
  CHECK(calls == 1);
  CHECK(user_agent() == "configured-agent/1");
  // The same pooled handle, reset: the option is gone.
  body.clear();
  CHECK(transport.perform(chat_post(server, false), collect(body), CancelToken{}).status == 200);
  CHECK(calls == 1);
  CHECK(user_agent().empty());
  CHECK(transport.connections_opened() == 1);
}

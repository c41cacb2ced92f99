#include <doctest/doctest.h>

#include <filesystem>

#include "lib/llm/http_chat_client.hpp"
#include "lib/llm/recording_client.hpp"
#include "lib/util/file_io.hpp"
#include "tests/fake_server/fake_llm_server.hpp"
#include "tests/support/process.hpp"

using namespace pipeline::llm;
using pipeline::testing::FakeLlmServer;
using pipeline::testing::TempDir;
using pipeline::util::CancelToken;
using pipeline::util::ErrorKind;

namespace {

const std::string k_key = "sk-or-v1-RECORDCANARY-00aa11bb22cc33dd";

ChatRequest card_request() {
  ChatRequest request;
  request.messages = {{"system", "You write cards."}, {"user", "One card about refills."}};
  request.temperature = 0.2;
  request.max_tokens = 300;
  request.schema = nlohmann::json::parse(
      R"({"type":"object","required":["title"],"properties":{"title":{"type":"string","maxLength":40}}})");
  return request;
}

std::string all_files_text(const std::string& dir) {
  std::string text;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    text += entry.path().filename().string();
    text += pipeline::util::read_file(entry.path()).value();
  }
  return text;
}

}  // namespace

TEST_CASE("a recorded call is replayed with no server, at no cost") {
  TempDir dir;
  ChatResult recorded;
  {
    FakeLlmServer server;
    server.require_key(k_key);
    ClientConfig config;
    config.base_url = server.base_url();
    config.model = "test-model";
    config.api_key = ApiKey{k_key, "PIPELINE_API_KEY"};
    RecordingChatClient client(std::make_unique<HttpChatClient>(config), dir.path(), config.model);
    auto result = client.complete(card_request(), CancelToken{});
    REQUIRE(result.has_value());
    recorded = *result;
  }
  const std::string hash = request_hash(card_request(), "test-model");
  CHECK(std::filesystem::exists(dir / (hash + ".json")));
  const std::string saved = all_files_text(dir.path());
  CHECK(saved.find(k_key) == std::string::npos);
  CHECK(saved.find("RECORDCANARY") == std::string::npos);
  CHECK(saved.find("uthorization") == std::string::npos);

  ReplayChatClient replay(dir.path(), "test-model");
  std::vector<Attempt> reported;
  CallObserver observer;
  observer.on_attempt = [&](const Attempt& attempt) { reported.push_back(attempt); };
  auto replayed = replay.complete(card_request(), CancelToken{}, observer);
  REQUIRE(replayed.has_value());
  CHECK(replayed->content == recorded.content);
  CHECK(replayed->json == recorded.json);
  CHECK(replayed->json["title"].is_string());
  CHECK(replayed->finish_reason == "stop");
  CHECK(replayed->model == recorded.model);
  CHECK(replayed->usage.prompt_tokens == recorded.usage.prompt_tokens);
  CHECK(replayed->usage.completion_tokens == recorded.usage.completion_tokens);
  CHECK(replayed->usage.cost_usd == 0.0);
  REQUIRE(reported.size() == 1);
  CHECK(reported[0].message.find("replayed") != std::string::npos);
}

TEST_CASE("replaying a request never recorded fails clearly") {
  TempDir dir;
  ReplayChatClient replay(dir.path(), "test-model");
  auto result = replay.complete(card_request(), CancelToken{});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::bad_input);
  const std::string hash = request_hash(card_request(), "test-model");
  CHECK(result.error().message == "no recording for this request (" + hash + ") in " + dir.path());
}

TEST_CASE("a broken recording file is bad input") {
  TempDir dir;
  const std::string hash = request_hash(card_request(), "test-model");
  REQUIRE(pipeline::util::write_file_atomic(dir / (hash + ".json"), "{ not json").has_value());
  auto result = ReplayChatClient(dir.path(), "test-model").complete(card_request(), CancelToken{});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::bad_input);
}

TEST_CASE("the request hash follows model, messages, parameters and schema") {
  const auto base = request_hash(card_request(), "test-model");
  CHECK(base.size() == 64);
  CHECK(request_hash(card_request(), "test-model") == base);
  CHECK(request_hash(card_request(), "other-model") != base);
  auto changed = card_request();
  changed.temperature = 0.3;
  CHECK(request_hash(changed, "test-model") != base);
  changed = card_request();
  changed.max_tokens = 301;
  CHECK(request_hash(changed, "test-model") != base);
  changed = card_request();
  changed.messages[1].content += "!";
  CHECK(request_hash(changed, "test-model") != base);
  changed = card_request();
  changed.schema.reset();
  CHECK(request_hash(changed, "test-model") != base);
  changed = card_request();
  changed.model = "test-model";  // the same model named explicitly
  CHECK(request_hash(changed, "test-model") == base);
}

TEST_CASE("failed calls are not recorded") {
  TempDir dir;
  FakeLlmServer server;
  ClientConfig config;
  config.base_url = server.base_url();
  config.model = "unknown-model";
  RecordingChatClient client(std::make_unique<HttpChatClient>(config), dir.path(), config.model);
  auto result = client.complete(card_request(), CancelToken{});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::provider);
  CHECK(std::filesystem::is_empty(dir.path()));
}

#include <doctest/doctest.h>

#include <filesystem>

#include "lib/llm/client_config.hpp"
#include "tests/fake_server/fake_llm_server.hpp"
#include "tests/support/process.hpp"

using namespace pipeline::llm;
using pipeline::testing::FakeLlmServer;
using pipeline::testing::TempDir;
using pipeline::util::CancelToken;

namespace {

ChatRequest question() {
  ChatRequest request;
  request.messages = {{"user", "What makes a refill club work?"}};
  return request;
}

}  // namespace

TEST_CASE("make_chat_client records with --record and replays with --replay") {
  TempDir dir;
  std::string recorded;
  {
    FakeLlmServer server;
    ClientConfig config;
    config.base_url = server.base_url();
    config.model = "test-model";
    config.record_dir = dir / "recordings";
    auto client = make_chat_client(config);
    auto result = client->complete(question(), CancelToken{});
    REQUIRE(result.has_value());
    recorded = result->content;
    CHECK(server.request_count() == 1);
  }
  CHECK(std::distance(std::filesystem::directory_iterator(dir / "recordings"), {}) == 1);

  ClientConfig replay;
  replay.base_url = "http://127.0.0.1:1/v1";  // nothing listens there
  replay.model = "test-model";
  replay.replay_dir = dir / "recordings";
  auto replayed = make_chat_client(replay)->complete(question(), CancelToken{});
  REQUIRE(replayed.has_value());
  CHECK(replayed->content == recorded);
}

TEST_CASE("make_chat_client without record or replay talks to the server") {
  FakeLlmServer server;
  ClientConfig config;
  config.base_url = server.base_url();
  config.model = "test-model";
  auto result = make_chat_client(config)->complete(question(), CancelToken{});
  REQUIRE(result.has_value());
  CHECK(server.request_count() == 1);
}

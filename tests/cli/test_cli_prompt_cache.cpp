#include <doctest/doctest.h>

#include "tests/support/cli_env.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline::testing;
using nlohmann::json;

namespace {

// The sum of one count over the usages the server reported.
std::int64_t reported(const FakeLlmServer& server, const json::json_pointer& where) {
  std::int64_t total = 0;
  for (const auto& usage : server.usages())
    if (usage.is_object() && usage.contains(where)) total += usage.at(where).get<std::int64_t>();
  return total;
}

std::int64_t recorded(const json& checkpoint, const std::string& key) {
  std::int64_t total = 0;
  for (const auto& stage : checkpoint.at("stages")) total += stage.at("usage").value(key, std::int64_t{0});
  return total;
}

// The bodies of the card requests, in order of arrival.
std::vector<json> card_requests(const FakeLlmServer& server) {
  std::vector<json> cards;
  for (const auto& body : server.requests())
    if (body.value("/response_format/json_schema/name"_json_pointer, std::string()) == "opportunity_card") cards.push_back(body);
  return cards;
}

}  // namespace

TEST_CASE("under OpenAI's caching the cards read the first card's prefix, and the checkpoint records what was reported") {
  FakeLlmServer server;
  server.set_cache_rules(CacheRules::openai);
  CliEnv env(server);
  auto run = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "cached", "--schema-dialect", "openai"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const auto checkpoint = env.checkpoint("cached");
  const auto cached = reported(server, "/prompt_tokens_details/cached_tokens"_json_pointer);
  CHECK(cached > 0);
  CHECK(recorded(checkpoint, "cached_tokens") == cached);
  CHECK(recorded(checkpoint, "prompt_tokens") == reported(server, "/prompt_tokens"_json_pointer));
  // Each part of stage 5 keeps its own count.
  std::int64_t parts = 0;
  for (const auto& part : checkpoint.at("stages").at(4).at("parts")) parts += part.at("usage").at("cached_tokens").get<std::int64_t>();
  CHECK(parts == checkpoint.at("stages").at(4).at("usage").at("cached_tokens").get<std::int64_t>());

  // The five cards: one schema byte for byte, the same messages but the last,
  // one cache key for the run's stage 5.
  const auto cards = card_requests(server);
  REQUIRE(cards.size() >= 5);
  for (std::size_t i = 1; i < 5; ++i) {
    CAPTURE(i);
    CHECK(cards[i].at("response_format").dump() == cards[0].at("response_format").dump());
    const auto& messages = cards[i].at("messages");
    REQUIRE(messages.size() == cards[0].at("messages").size());
    for (std::size_t m = 0; m + 1 < messages.size(); ++m) CHECK(messages[m] == cards[0].at("messages")[m]);
    CHECK(messages.back() != cards[0].at("messages").back());
    CHECK(cards[i].at("prompt_cache_key") == "cached/opportunities");
  }
  // The cards after the first read most of their prompt from the cache.
  const auto& stage5 = checkpoint.at("stages").at(4);
  for (const auto& part : stage5.at("parts")) {
    const std::string name = part.at("name");
    if (name.rfind("card-", 0) != 0 || name == "card-better-for-you") continue;
    CAPTURE(name);
    const auto& usage = part.at("usage");
    CHECK(usage.at("cached_tokens").get<double>() >= 0.6 * usage.at("prompt_tokens").get<double>());
  }
  auto status = env.run({"status", "cached"});
  CHECK(status.out.find("prompt cached") != std::string::npos);
}

TEST_CASE("under Anthropic's caching the shared blocks carry cache_control, and reads and writes are recorded") {
  FakeLlmServer server;
  server.set_dialect(Dialect::anthropic);
  server.set_cache_rules(CacheRules::anthropic);
  CliEnv env(server);
  auto run = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "marked", "--schema-dialect", "anthropic"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const auto checkpoint = env.checkpoint("marked");
  CHECK(reported(server, "/cache_read_input_tokens"_json_pointer) > 0);
  CHECK(recorded(checkpoint, "cached_tokens") == reported(server, "/cache_read_input_tokens"_json_pointer));
  CHECK(recorded(checkpoint, "cache_write_tokens") == reported(server, "/cache_creation_input_tokens"_json_pointer));
  for (const auto& card : card_requests(server)) {
    const auto& shared = card.at("messages").at(1).at("content");
    REQUIRE(shared.is_array());
    CHECK(shared.at(0).at("cache_control") == json({{"type", "ephemeral"}}));
    CHECK(card.at("messages").back().at("content").is_string());
    CHECK_FALSE(card.contains("prompt_cache_key"));
  }
}

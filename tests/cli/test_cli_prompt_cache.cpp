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

// The bodies of stage 5's requests (the plan, then the five cards, and any
// card asked again), in order of arrival: they share one schema name.
std::vector<json> stage5_requests(const FakeLlmServer& server) {
  std::vector<json> requests;
  for (const auto& body : server.requests())
    if (body.value("/response_format/json_schema/name"_json_pointer, std::string()) == "opportunities_step") requests.push_back(body);
  return requests;
}

// The request part of a stage 5 request asks for the plan.
bool asks_for_plan(const json& body) {
  return body.at("messages").back().at("content").get<std::string>().find("Fill `plan` and set `card` to null") != std::string::npos;
}

}  // namespace

TEST_CASE("under OpenAI's caching the five cards read the plan's prefix, and the checkpoint records what was reported") {
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

  // The plan and the five cards: one schema byte for byte, one cache key for
  // the run's stage 5. A card continues the plan's conversation: the plan's
  // messages, the plan as answered, then its own request part.
  const auto requests = stage5_requests(server);
  REQUIRE(requests.size() >= 6);
  const json& plan = requests[0];
  CHECK(asks_for_plan(plan));
  const auto& plan_messages = plan.at("messages");
  for (std::size_t i = 1; i < 6; ++i) {
    CAPTURE(i);
    CHECK_FALSE(asks_for_plan(requests[i]));
    CHECK(requests[i].at("response_format").dump() == plan.at("response_format").dump());
    const auto& messages = requests[i].at("messages");
    REQUIRE(messages.size() == plan_messages.size() + 2);
    for (std::size_t m = 0; m < plan_messages.size(); ++m) CHECK(messages[m] == plan_messages[m]);
    const auto& answer = messages[plan_messages.size()];
    CHECK(answer.at("role") == "assistant");
    CHECK(json::parse(answer.at("content").get<std::string>()).at("card").is_null());
    CHECK(answer == requests[1].at("messages")[plan_messages.size()]);
    for (std::size_t other = 1; other < i; ++other) CHECK(messages.back() != requests[other].at("messages").back());
    CHECK(requests[i].at("prompt_cache_key") == "cached/opportunities");
  }
  CHECK(plan.at("prompt_cache_key") == "cached/opportunities");
  // The schema's plan says the concept's shape once, as a reference.
  const auto& schema = plan.at("/response_format/json_schema/schema"_json_pointer);
  CHECK(schema.at("/$defs/plan/properties/convenience"_json_pointer) == json({{"$ref", "#/$defs/concept"}}));
  // Every card, the first among them, reads most of its prompt from the cache
  // the plan wrote; the plan reads none of it. The first card is asked alone
  // and the other four read the plan it added as well.
  const auto& stage5 = checkpoint.at("stages").at(4);
  int cards = 0;
  for (const auto& part : stage5.at("parts")) {
    const std::string name = part.at("name");
    const auto& usage = part.at("usage");
    CAPTURE(name);
    if (name == "plan") CHECK(usage.at("cached_tokens").get<double>() < 0.5 * usage.at("prompt_tokens").get<double>());
    if (name.rfind("card-", 0) != 0) continue;
    ++cards;
    CHECK(usage.at("cached_tokens").get<double>() >= 0.6 * usage.at("prompt_tokens").get<double>());
  }
  CHECK(cards >= 5);
  const auto cached_of = [&](std::size_t index) {
    return stage5.at("parts").at(index).at("usage").at("cached_tokens").get<std::int64_t>();
  };
  REQUIRE(stage5.at("parts").size() >= 6);
  for (std::size_t later = 2; later < 6; ++later) CHECK(cached_of(later) > cached_of(1));
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
  const auto requests = stage5_requests(server);
  REQUIRE(requests.size() >= 6);
  for (const auto& request : requests) {
    const auto& shared = request.at("messages").at(1).at("content");
    REQUIRE(shared.is_array());
    CHECK(shared.at(0).at("cache_control") == json({{"type", "ephemeral"}}));
    CHECK(request.at("messages").back().at("content").is_string());
    CHECK_FALSE(request.contains("prompt_cache_key"));
  }
  // A card marks the plan it continues from as a second breakpoint.
  const auto& answer = requests.at(1).at("messages").at(3);
  CHECK(answer.at("role") == "assistant");
  CHECK(answer.at("content").at(0).at("cache_control") == json({{"type", "ephemeral"}}));
  // The plan writes the marked prefix; the first card reads it and writes the
  // plan after it; the other four read both and write nothing.
  const auto& parts = checkpoint.at("stages").at(4).at("parts");
  REQUIRE(parts.size() >= 6);
  CHECK(parts.at(0).at("name") == "plan");
  CHECK(parts.at(0).at("usage").value("cache_write_tokens", std::int64_t{0}) > 0);
  const auto& first = parts.at(1).at("usage");
  CHECK(first.value("cached_tokens", std::int64_t{0}) > 0);
  CHECK(first.value("cache_write_tokens", std::int64_t{0}) > 0);
  for (std::size_t i = 2; i < 6; ++i) {
    const auto& usage = parts.at(i).at("usage");
    CAPTURE(parts.at(i).at("name").get<std::string>());
    CHECK(usage.value("cached_tokens", std::int64_t{0}) > first.value("cached_tokens", std::int64_t{0}));
    CHECK(usage.value("cache_write_tokens", std::int64_t{0}) == 0);
  }
}

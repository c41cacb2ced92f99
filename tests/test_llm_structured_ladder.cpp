#include <doctest/doctest.h>

#include <chrono>
#include <future>

#include "lib/llm/structured_ladder.hpp"

using namespace pipeline::llm;
using pipeline::util::CancelToken;
using pipeline::util::Clock;
using namespace std::chrono_literals;

namespace {

// Real error bodies, as the providers send them.
const std::string k_openai_min_length =
    R"({"error":{"message":"Invalid schema for response_format 'mechanisms': In context=('properties', 'evidence', )"
    R"('properties', 'gaps', 'items'), 'minLength' is not permitted.","type":"invalid_request_error",)"
    R"("param":"response_format","code":null}})";
const std::string k_openrouter_no_endpoints =
    R"({"error":{"message":"No endpoints found that can handle the requested parameters. To learn more about )"
    R"(provider routing, visit: https://openrouter.ai/docs/provider-routing","code":404}})";
const std::string k_lm_studio_json_object = R"({"error":"'response_format.type' must be 'json_schema' or 'text'"})";
const std::string k_anthropic_minimum =
    R"({"error":{"message":"Provider returned error","code":400,"metadata":{"raw":"{\"type\":\"error\",\"error\":)"
    R"({\"type\":\"invalid_request_error\",\"message\":\"output_format.schema: For 'integer' type, property )"
    R"('minimum' is not supported\"}}","provider_name":"Anthropic"}}})";
const std::string k_context_length =
    R"({"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted )"
    R"(in 130000 tokens. Please reduce the length of the messages or the response_format schema.",)"
    R"("type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}})";
const std::string k_model_not_found =
    R"({"error":{"message":"The model `x` does not exist.","type":"invalid_request_error","param":null,)"
    R"("code":"model_not_found"}})";

ProviderProfile ladder_profile(const char* name) {
  auto profile = profile_by_dialect(name);
  REQUIRE_MESSAGE(profile, name);
  return *profile;
}

// A token that ends every wait within a few seconds, so that no test can hang.
CancelToken bounded() { return CancelToken(Clock::now() + 5s); }

// The turn begin() gives within that bound; fails the test without one.
StructuredLadder::Turn begin(StructuredLadder& ladder, const std::string& model, const ProviderProfile& profile) {
  auto turn = ladder.begin(model, profile, bounded());
  REQUIRE(turn);
  return std::move(*turn);
}

}  // namespace

TEST_CASE("refusals of structured output are told from other client errors") {
  CHECK(is_structured_output_refusal(400, k_openai_min_length));
  CHECK(is_structured_output_refusal(404, k_openrouter_no_endpoints));
  CHECK(is_structured_output_refusal(400, k_lm_studio_json_object));
  CHECK(is_structured_output_refusal(400, k_anthropic_minimum));
  // Too long a prompt is refused whatever the rung, even when it names the schema.
  CHECK_FALSE(is_structured_output_refusal(400, k_context_length));
  CHECK_FALSE(is_structured_output_refusal(404, k_model_not_found));
  // Only client errors refuse a request's shape; a server error is a failure to retry.
  CHECK_FALSE(is_structured_output_refusal(500, R"({"error":{"message":"json_schema backend crashed"}})"));
  CHECK_FALSE(is_structured_output_refusal(401, R"({"error":{"message":"invalid response_format key"}})"));
  CHECK_FALSE(is_structured_output_refusal(429, k_openai_min_length));
  CHECK(is_structured_output_refusal(422, R"({"detail":"strict is not supported"})"));
}

TEST_CASE("a refusal of the schema's content is told from a refusal of json_schema itself") {
  CHECK(refuses_schema_content(k_openai_min_length));
  CHECK(refuses_schema_content(k_anthropic_minimum));
  CHECK_FALSE(refuses_schema_content(k_openrouter_no_endpoints));
  CHECK_FALSE(refuses_schema_content(k_lm_studio_json_object));
}

TEST_CASE("the ladder begins at the profile's first rung with a probe") {
  StructuredLadder ladder(std::nullopt, {});
  auto openai = begin(ladder, "gpt", ladder_profile("openai"));
  CHECK(openai.rung == StructuredRung::strict_schema);
  CHECK(openai.probe);
  // Each model is learned on its own: another model probes at once.
  auto local = begin(ladder, "llama", ladder_profile("llama.cpp"));
  CHECK(local.rung == StructuredRung::schema);
  CHECK(local.probe);
}

TEST_CASE("each refusal drops one rung until prompt, below which there is none") {
  const auto openai = ladder_profile("openai");
  StructuredLadder ladder(std::nullopt, {});
  const std::vector<StructuredRung> expected = {StructuredRung::strict_schema, StructuredRung::schema,
                                                StructuredRung::json_object, StructuredRung::prompt};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    auto turn = begin(ladder, "gpt", openai);
    CHECK(turn.rung == expected[i]);
    CHECK(turn.probe);
    const auto next = ladder.refused("gpt", turn, openai, k_openai_min_length);
    CHECK_FALSE(turn.probe);
    if (i + 1 < expected.size()) {
      CHECK(next == expected[i + 1]);
    } else {
      CHECK_FALSE(next);
    }
  }
  CHECK(ladder.learned().empty());
}

TEST_CASE("a provider that refuses json_schema itself skips the non-strict schema rung") {
  StructuredLadder ladder(std::nullopt, {});
  auto turn = begin(ladder, "m", ladder_profile("openai"));
  CHECK(ladder.refused("m", turn, ladder_profile("openai"), k_openrouter_no_endpoints) == StructuredRung::json_object);
  auto next = begin(ladder, "m", ladder_profile("openai"));
  CHECK(next.rung == StructuredRung::json_object);
}

TEST_CASE("LM Studio drops from the schema rung straight to prompt") {
  const auto lm_studio = ladder_profile("lm-studio");
  StructuredLadder ladder(std::nullopt, {});
  auto turn = begin(ladder, "m", lm_studio);
  CHECK(turn.rung == StructuredRung::schema);
  CHECK(ladder.refused("m", turn, lm_studio, k_lm_studio_json_object) == StructuredRung::prompt);
}

TEST_CASE("a forced rung is the only one: never probed, never left") {
  StructuredLadder ladder(StructuredRung::json_object, {{"m", StructuredRung::prompt}});
  auto turn = begin(ladder, "m", ladder_profile("openai"));
  CHECK(turn.rung == StructuredRung::json_object);
  CHECK_FALSE(turn.probe);
  CHECK_FALSE(ladder.refused("m", turn, ladder_profile("openai"), k_openai_min_length));
  ladder.answered("m", turn);
  auto again = begin(ladder, "m", ladder_profile("openai"));
  CHECK(again.rung == StructuredRung::json_object);
}

TEST_CASE("once a rung has answered, later requests take it without a probe") {
  const auto openai = ladder_profile("openai");
  StructuredLadder ladder(std::nullopt, {});
  auto first = begin(ladder, "gpt", openai);
  REQUIRE(ladder.refused("gpt", first, openai, k_openai_min_length) == StructuredRung::schema);
  auto second = begin(ladder, "gpt", openai);
  ladder.answered("gpt", second);
  CHECK_FALSE(second.probe);
  for (int i = 0; i < 3; ++i) {
    auto later = begin(ladder, "gpt", openai);
    CHECK(later.rung == StructuredRung::schema);
    CHECK_FALSE(later.probe);
  }
  // Only answered rungs are learned: a model still probing is not listed.
  auto other = begin(ladder, "other", openai);
  CHECK(ladder.learned() == std::map<std::string, StructuredRung>{{"gpt", StructuredRung::schema}});
}

TEST_CASE("rungs learned by an earlier invocation are used at once") {
  StructuredLadder ladder(std::nullopt, {{"gpt", StructuredRung::json_object}});
  auto turn = begin(ladder, "gpt", ladder_profile("openai"));
  CHECK(turn.rung == StructuredRung::json_object);
  CHECK_FALSE(turn.probe);
  CHECK(ladder.learned() == std::map<std::string, StructuredRung>{{"gpt", StructuredRung::json_object}});
}

TEST_CASE("two requests refused on the same learned rung drop it only once") {
  // Requests on a learned rung run in parallel without probes, so several may see its refusal.
  const auto openai = ladder_profile("openai");
  StructuredLadder ladder(std::nullopt, {{"gpt", StructuredRung::strict_schema}});
  auto one = begin(ladder, "gpt", openai);
  auto two = begin(ladder, "gpt", openai);
  CHECK(ladder.refused("gpt", one, openai, k_openai_min_length) == StructuredRung::schema);
  CHECK(ladder.refused("gpt", two, openai, k_openai_min_length) == StructuredRung::schema);
  // An answer on the rung already left does not settle the new one.
  ladder.answered("gpt", two);
  CHECK(ladder.learned().empty());
  auto next = begin(ladder, "gpt", openai);
  CHECK(next.rung == StructuredRung::schema);
  CHECK(next.probe);
}

TEST_CASE("while one request probes a rung, another waits and then takes the answered rung") {
  const auto openai = ladder_profile("openai");
  StructuredLadder ladder(std::nullopt, {});
  auto probe = begin(ladder, "gpt", openai);
  REQUIRE(probe.probe);
  auto waiter = std::async(std::launch::async, [&] { return ladder.begin("gpt", openai, bounded()); });
  CHECK(waiter.wait_for(150ms) == std::future_status::timeout);
  ladder.answered("gpt", probe);
  REQUIRE(waiter.wait_for(3s) == std::future_status::ready);
  const auto turn = waiter.get();
  REQUIRE(turn);
  CHECK(turn->rung == StructuredRung::strict_schema);
  CHECK_FALSE(turn->probe);
}

TEST_CASE("while one request probes a rung, another waits and then probes the next rung after a refusal") {
  const auto openai = ladder_profile("openai");
  StructuredLadder ladder(std::nullopt, {});
  auto probe = begin(ladder, "gpt", openai);
  auto waiter = std::async(std::launch::async, [&] { return ladder.begin("gpt", openai, bounded()); });
  CHECK(waiter.wait_for(150ms) == std::future_status::timeout);
  CHECK(ladder.refused("gpt", probe, openai, k_openai_min_length) == StructuredRung::schema);
  REQUIRE(waiter.wait_for(3s) == std::future_status::ready);
  auto turn = waiter.get();
  REQUIRE(turn);
  CHECK(turn->rung == StructuredRung::schema);
  CHECK(turn->probe);
  // Its probe holds the model in turn: a third request cannot probe beside it.
  auto third = ladder.begin("gpt", openai, CancelToken(Clock::now() + 100ms));
  CHECK_FALSE(third);
}

TEST_CASE("a waiting request whose token is cancelled gives up with nullopt") {
  const auto openai = ladder_profile("openai");
  StructuredLadder ladder(std::nullopt, {});
  auto probe = begin(ladder, "gpt", openai);
  const CancelToken token(Clock::now() + 5s);
  auto waiter = std::async(std::launch::async, [&] { return ladder.begin("gpt", openai, token); });
  CHECK(waiter.wait_for(100ms) == std::future_status::timeout);
  token.cancel();
  REQUIRE(waiter.wait_for(3s) == std::future_status::ready);
  CHECK_FALSE(waiter.get());
  // The probe is still the one holding the model, and its answer settles it.
  ladder.answered("gpt", probe);
  CHECK(ladder.learned() == std::map<std::string, StructuredRung>{{"gpt", StructuredRung::strict_schema}});
}

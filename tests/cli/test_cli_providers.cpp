// Full runs against the fake server playing real providers: what each one
// refuses, how the structured-output ladder settles, and what a run records.

#include <doctest/doctest.h>

#include <fmt/format.h>

#include "lib/llm/json_schema.hpp"
#include "stages/stage_registry.hpp"
#include "tests/support/cli_env.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline::testing;
using nlohmann::json;

namespace {

std::vector<json> events_of(const CliEnv& env, const std::string& run_id) {
  std::vector<json> events;
  for (const auto& line : split_lines(env.read(run_id, "events.ndjson"))) events.push_back(json::parse(line));
  return events;
}

// Requests the provider refused for their structured output: each is one stage_retry event.
int refused_requests(const CliEnv& env, const std::string& run_id) {
  int refused = 0;
  for (const auto& event : events_of(env, run_id)) {
    if (event.value("event", "") == "stage_retry" &&
        event.at("attempt").value("error_class", "") == "structured_output_refused")
      ++refused;
  }
  return refused;
}

// A scripted reply for the stage 1 requests only (re-asks included).
ScriptedReply stage1_reply(std::optional<std::string> content, FaultKind fault = FaultKind::none) {
  ScriptedReply reply;
  reply.fault = fault;
  reply.content = std::move(content);
  reply.match = "\"name\":\"mechanisms\"";
  return reply;
}

std::vector<std::string> example_run_args(const std::string& brand, const std::string& run_id) {
  return {"run", example_pdf_path(), "--brand", brand, "--run-id", run_id};
}

// The fake server playing one provider, and a CLI environment that uses it
// with the stage cache off, so every run asks the model.
struct PlayedProvider {
  explicit PlayedProvider(Dialect dialect = Dialect::any) : env(server) {
    server.set_dialect(dialect);
    env.disable_cache();
  }
  // `pipeline run` of the example for the test brand as run `run_id`, with `extra` options.
  ProcessResult run_example(const std::string& run_id, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = example_run_args(env.brand_path, run_id);
    args.insert(args.end(), extra.begin(), extra.end());
    return env.run(args);
  }
  FakeLlmServer server;
  CliEnv env;
};

// How a run against each dialect should go with the default --structured-output auto.
struct DialectCase {
  const char* name;
  Dialect dialect;
  const char* rung;  // where the ladder settles
  int refused;       // refused requests in the whole run
};

}  // namespace

TEST_CASE("a full run completes against every provider dialect, at most one refused request per rung") {
  const DialectCase cases[] = {
      {"openai", Dialect::openai, "strict", 0},
      {"anthropic", Dialect::anthropic, "schema", 1},
      {"json-object-only", Dialect::json_object_only, "json_object", 1},
      {"no-structured-output", Dialect::no_structured_output, "prompt", 2},
      {"no-usage", Dialect::no_usage, "strict", 0},
  };
  for (const auto& item : cases) {
    CAPTURE(item.name);
    PlayedProvider provider(item.dialect);
    auto& [server, env] = provider;
    auto first = provider.run_example("first");
    INFO(first.err);
    REQUIRE(first.exit_code == 0);
    CHECK(refused_requests(env, "first") == item.refused);
    CHECK(server.request_count() == k_requests_per_run + item.refused);
    const auto checkpoint = env.checkpoint("first");
    CHECK(checkpoint.at("settings").at("structured_output_rungs").at("test-model") == item.rung);
    for (const auto& stage : checkpoint.at("stages")) {
      for (const auto& part : stage.at("parts")) {
        CHECK(part.at("rung") == item.rung);
        CHECK(part.at("model") == "test-model");
      }
    }
    // Determinism: the same dialect gives the same cards, byte for byte.
    auto second = provider.run_example("second");
    REQUIRE(second.exit_code == 0);
    CHECK(env.read("second", "opportunities.json") == env.read("first", "opportunities.json"));
    CHECK(refused_requests(env, "second") == item.refused);
  }
}

TEST_CASE("the rung a run learned is kept in its checkpoint, and a later command starts there") {
  PlayedProvider provider(Dialect::json_object_only);
  auto& [server, env] = provider;
  REQUIRE(env.run({"new", example_pdf_path(), "--brand", env.brand_path, "--run-id", "learn"}).exit_code == 0);
  auto first = env.run({"mechanisms", "learn"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(refused_requests(env, "learn") == 1);
  const int before = server.request_count();
  auto rest = env.run({"resume", "learn"});
  INFO(rest.err);
  REQUIRE(rest.exit_code == 0);
  // Another process, no refusal: it asked on json_object from the start.
  CHECK(refused_requests(env, "learn") == 1);
  CHECK(server.request_count() - before == k_requests_per_run - 1);
  CHECK(server.requests().back().at("response_format") == json{{"type", "json_object"}});
  auto status = env.run({"status", "learn"});
  CHECK(status.out.find("json_object for test-model") != std::string::npos);
  CHECK(status.out.find("[json_object, answered by test-model]") != std::string::npos);
}

TEST_CASE("the strict schema sent is the lowered one, and the full one without lowering is refused") {
  PlayedProvider provider(Dialect::openai);
  auto& [server, env] = provider;
  auto run = provider.run_example("lowered");
  REQUIRE(run.exit_code == 0);
  const auto body = server.requests().front();
  const auto& schema = body.at("response_format").at("json_schema").at("schema");
  CHECK(body.at("response_format").at("json_schema").at("strict") == true);
  CHECK(schema.dump().find("minLength") == std::string::npos);
  CHECK(schema.dump().find("Rules: not empty") != std::string::npos);
  // The stage's own schema, sent whole, is what OpenAI refuses on the first call.
  const auto& mechanisms = pipeline::stages::find_stage("mechanisms")->schema();
  CHECK(openai_schema_problem(mechanisms, "mechanisms").find("'minLength' is not permitted.") != std::string::npos);
}

TEST_CASE("--structured-output forces one rung and --schema-dialect picks the profile") {
  PlayedProvider openai(Dialect::openai);
  auto& [server, env] = openai;
  auto forced = openai.run_example("forced", {"--structured-output", "json_object"});
  INFO(forced.err);
  REQUIRE(forced.exit_code == 0);
  for (const auto& request : server.requests()) CHECK(request.at("response_format") == json{{"type", "json_object"}});
  CHECK(env.checkpoint("forced").at("settings").at("structured_output") == "json_object");

  // A forced rung that the provider refuses is not stepped down from.
  PlayedProvider bare(Dialect::no_structured_output);
  auto refused = bare.run_example("refused", {"--structured-output", "strict"});
  CHECK(refused.exit_code == 4);
  CHECK(bare.server.request_count() == 1);

  // The anthropic profile lowers for Anthropic at once: no refusal on its rung.
  PlayedProvider claude(Dialect::anthropic);
  auto dialect = claude.run_example("claude", {"--schema-dialect", "anthropic"});
  INFO(dialect.err);
  REQUIRE(dialect.exit_code == 0);
  CHECK(refused_requests(claude.env, "claude") == 0);
  CHECK(claude.env.checkpoint("claude").at("settings").at("structured_output_rungs").at("test-model") == "strict");

  auto bad = env.run({"doctor", "--schema-dialect", "klingon"});
  CHECK(bad.exit_code == 2);
}

TEST_CASE("style rules still broken after the re-asks become warnings; contract rules still fail the stage") {
  const auto& stage = *pipeline::stages::find_stage("mechanisms");
  json answer = generate_from_schema(stage.schema(), 7);
  REQUIRE(pipeline::llm::validate_json(stage.schema(), answer).empty());
  for (auto& mechanism : answer.at("mechanisms")) mechanism["structural_sentence"] = "It works because it is easy.";

  PlayedProvider provider;
  auto& [server, env] = provider;
  for (int i = 0; i < 3; ++i) server.enqueue(stage1_reply(answer.dump()));
  auto run = provider.run_example("styled");
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(requests_per_schema(server).at("mechanisms") == 3);
  const auto checkpoint = env.checkpoint("styled");
  const auto& warnings = checkpoint.at("stages").at(0).at("warnings");
  REQUIRE(warnings.size() == answer.at("mechanisms").size());
  CHECK(warnings.at(0).get<std::string>().find("answer: $.mechanisms[0].structural_sentence") == 0);
  CHECK(env.read("styled", "report.md").find("**Warnings.**") != std::string::npos);
  auto status = env.run({"status", "styled"});
  CHECK(status.out.find("warning: answer: $.mechanisms[0].structural_sentence") != std::string::npos);
  bool event_warned = false;
  for (const auto& event : events_of(env, "styled")) {
    if (event.value("event", "") == "stage_done" && event.value("stage", 0) == 1) event_warned = event.contains("warnings");
  }
  CHECK(event_warned);

  json broken = generate_from_schema(stage.schema(), 7);
  broken["evidence"]["strength"] = "overwhelming";
  PlayedProvider strict;
  for (int i = 0; i < 3; ++i) strict.server.enqueue(stage1_reply(broken.dump()));
  auto failed = strict.run_example("broken");
  CHECK(failed.exit_code == 1);
  CHECK(failed.err.find("still invalid after 2 re-asks") != std::string::npos);
}

TEST_CASE("later stages may only name the mechanisms stage 1 found, and stage 1 numbers them in order") {
  PlayedProvider provider;
  auto& [server, env] = provider;
  auto run = provider.run_example("refs");
  REQUIRE(run.exit_code == 0);
  const auto mechanisms = json::parse(env.read("refs", "stages/01-mechanisms.json"));
  std::vector<std::string> ids;
  for (const auto& mechanism : mechanisms.at("mechanisms")) ids.push_back(mechanism.at("id"));
  for (std::size_t i = 0; i < ids.size(); ++i) CHECK(ids[i] == "M" + std::to_string(i + 1));
  const json allowed(ids);
  for (const auto& request : server.requests()) {
    const auto schema_text = request.value("/response_format/json_schema/schema"_json_pointer, json()).dump();
    if (request.value("/response_format/json_schema/name"_json_pointer, std::string()) == "mechanisms") continue;
    if (schema_text.find("mechanism_id") == std::string::npos) continue;
    // Every mechanism reference offers exactly the ids found.
    CAPTURE(request.value("/response_format/json_schema/name"_json_pointer, std::string()));
    CHECK(schema_text.find(allowed.dump()) != std::string::npos);
  }
  const auto cards = json::parse(env.read("refs", "opportunities.json"));
  for (const auto& card : cards.at("opportunities"))
    CHECK(std::find(ids.begin(), ids.end(), card.at("mechanism_id")) != ids.end());
}

TEST_CASE("a provider that reports no usage leaves tokens unknown, with an estimate") {
  PlayedProvider provider(Dialect::no_usage);
  auto& env = provider.env;
  auto run = provider.run_example("unreported");
  REQUIRE(run.exit_code == 0);
  const auto usage = env.checkpoint("unreported").at("stages").at(0).at("usage");
  CHECK(usage.at("prompt_tokens").is_null());
  CHECK(usage.at("completion_tokens").is_null());
  CHECK(usage.at("unreported_calls") == 1);
  CHECK(usage.at("estimated_prompt_tokens").get<long>() > 100);
  CHECK(usage.at("estimated_completion_tokens").get<long>() > 10);
  auto status = env.run({"status", "unreported"});
  CHECK(status.out.find("tokens not reported (≈") != std::string::npos);
  CHECK(status.out.find(" 0 tokens") == std::string::npos);
}

TEST_CASE("a failed call's billed usage stays in the checkpoint, and a resume under --max-cost counts it") {
  PlayedProvider provider;
  auto& [server, env] = provider;
  server.enqueue(stage1_reply(std::nullopt, FaultKind::truncated));
  auto run = provider.run_example("cut");
  CHECK(run.exit_code == 1);
  const auto usage = env.checkpoint("cut").at("stages").at(0).at("usage");
  CHECK(usage.at("prompt_tokens").get<long>() > 0);
  const double spent = usage.at("cost_usd").get<double>();
  CHECK(spent > 0);
  auto status = env.run({"status", "cut"});
  const long tokens = usage.at("prompt_tokens").get<long>() + usage.at("completion_tokens").get<long>();
  CHECK(status.out.find(fmt::format("1. mechanisms     failed           {} tokens", tokens)) != std::string::npos);

  const int before = server.request_count();
  auto resumed = env.run({"resume", "cut", "--max-cost", "0.0001", "--prices", "test-model=1,2"});
  CHECK(resumed.exit_code == 7);
  CHECK(resumed.err.find(fmt::format("with ${:.4f} spent", spent)) != std::string::npos);
  CHECK(server.request_count() == before);
}

TEST_CASE("--max-cost takes the model's prices from the provider's models list when --prices lacks them") {
  PlayedProvider provider;
  auto& [server, env] = provider;
  server.set_list_prices(true);
  auto run = provider.run_example("listed", {"--max-cost", "5"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const auto prices = env.checkpoint("listed").at("settings").at("prices").at("test-model");
  CHECK(prices.at("prompt_per_million") == doctest::Approx(1.0));
  CHECK(prices.at("completion_per_million") == doctest::Approx(2.0));

  PlayedProvider unpriced;
  auto refused = unpriced.run_example("unpriced", {"--max-cost", "5"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("the provider's models list gives none") != std::string::npos);
  CHECK(unpriced.server.request_count() == 0);
}

TEST_CASE("--structured-output json_schema is kept as strict, and a run's end is said once") {
  PlayedProvider provider(Dialect::openai);
  auto run = provider.run_example("older-name", {"--structured-output", "json_schema"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(provider.env.checkpoint("older-name").at("settings").at("structured_output") == "strict");
  const std::string all = run.out + run.err;
  std::size_t said = 0;
  for (auto at = all.find("completed"); at != std::string::npos; at = all.find("completed", at + 1)) ++said;
  CHECK(said == 1);
  // stdout: the run's creation, then where its report is.
  CHECK(split_lines(run.out) == std::vector<std::string>{"run older-name created",
                                                         "report: " + provider.env.runs_dir + "/older-name/report.html (also report.md)"});
}

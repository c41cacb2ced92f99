// Full runs against the fake server playing today's reasoning models: OpenAI's
// (which refuse max_tokens and any temperature but 1) and OpenRouter's (which
// route only to endpoints that take every parameter sent), their silence
// while they think, their reasoning tokens, and the order of the schema on the wire.

#include <doctest/doctest.h>

#include <filesystem>

#include <fmt/format.h>

#include "tests/support/cli_env.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline::testing;
using nlohmann::json;

namespace {

// Attempts the provider refused for a parameter: each is one stage_retry event.
int reasoning_parameter_refusals(const CliEnv& env, const std::string& run_id) {
  int refused = 0;
  for (const auto& line : split_lines(env.read(run_id, "events.ndjson"))) {
    const auto event = json::parse(line);
    if (event.value("event", "") == "stage_retry" &&
        event.at("attempt").value("error_class", "") == "parameter_refused")
      ++refused;
  }
  return refused;
}

int reasoning_retries(const CliEnv& env, const std::string& run_id) {
  int retries = 0;
  for (const auto& line : split_lines(env.read(run_id, "events.ndjson")))
    retries += json::parse(line).value("event", "") == "stage_retry" ? 1 : 0;
  return retries;
}

int reasoning_requests_with(const FakeLlmServer& server, const char* name) {
  int count = 0;
  for (const auto& body : server.requests()) count += body.contains(name) ? 1 : 0;
  return count;
}

// The fake server playing `dialect` for `model`, with the stage cache off so every run asks.
struct ReasoningProvider {
  ReasoningProvider(Dialect dialect, const std::string& model) : env(server) {
    server.set_dialect(dialect);
    server.set_models({model});
    env.options.env["PIPELINE_MODEL"] = model;
    env.disable_cache();
  }
  // The fake stands in for openrouter.ai as an HTTP proxy, so the run talks to
  // "openrouter.ai" with no name looked up and nothing leaving the machine.
  void play_openrouter() {
    env.options.env["PIPELINE_BASE_URL"] = "http://openrouter.ai/api/v1";
    env.options.env["http_proxy"] = fmt::format("http://127.0.0.1:{}", server.port());
    env.options.env["no_proxy"] = "";
    env.options.env["NO_PROXY"] = "";
  }
  ProcessResult run_example(const std::string& run_id, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", run_id};
    args.insert(args.end(), extra.begin(), extra.end());
    return env.run(args);
  }
  FakeLlmServer server;
  CliEnv env;
};

// The names of an object's properties, in the order they were sent.
std::vector<std::string> wire_property_order(const nlohmann::ordered_json& schema) {
  std::vector<std::string> names;
  for (const auto& [name, value] : schema.at("properties").items()) names.push_back(name);
  return names;
}

// Checks that every object of a schema as sent lists its properties in the
// order of its required array (the authored order); returns how many objects it saw.
int check_authored_order(const nlohmann::ordered_json& schema) {
  if (!schema.is_object() && !schema.is_array()) return 0;
  int objects = 0;
  if (schema.is_object() && schema.contains("properties") && schema.contains("required")) {
    std::vector<std::string> required;
    for (const auto& name : schema.at("required")) required.push_back(name.get<std::string>());
    CHECK(wire_property_order(schema) == required);
    ++objects;
  }
  for (const auto& [key, value] : schema.items()) objects += check_authored_order(value);
  return objects;
}

// Whether `first` comes before `second` among the properties of `schema`.
bool sent_before(const nlohmann::ordered_json& schema, const std::string& first, const std::string& second) {
  const auto names = wire_property_order(schema);
  const auto a = std::find(names.begin(), names.end(), first);
  const auto b = std::find(names.begin(), names.end(), second);
  return a != names.end() && b != names.end() && a < b;
}

}  // namespace

TEST_CASE("gpt-5-mini on OpenAI's rules: a full run with no refused request, reasoning tokens reported") {
  ReasoningProvider provider(Dialect::openai_reasoning, "gpt-5-mini");
  auto& [server, env] = provider;
  auto run = provider.run_example("known", {"--reasoning-effort", "low"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(reasoning_parameter_refusals(env, "known") == 0);
  CHECK(server.request_count() == k_requests_per_run);
  CHECK(reasoning_requests_with(server, "max_tokens") == 0);
  CHECK(reasoning_requests_with(server, "temperature") == 0);
  CHECK(reasoning_requests_with(server, "max_completion_tokens") == k_requests_per_run);
  for (const auto& body : server.requests()) CHECK(body.at("reasoning_effort") == "low");
  // 64 reasoning tokens an answer: in the checkpoint, the events, status and the report.
  const auto checkpoint = env.checkpoint("known");
  CHECK(checkpoint.at("settings").at("reasoning_effort") == "low");
  std::int64_t reasoning = 0;
  for (const auto& stage : checkpoint.at("stages")) reasoning += stage.at("usage").value("reasoning_tokens", 0);
  CHECK(reasoning == 64 * k_requests_per_run);
  CHECK(env.read("known", "events.ndjson").find("\"reasoning_tokens\":64") != std::string::npos);
  auto status = env.run({"status", "known"});
  CHECK(status.out.find("(64 reasoning)") != std::string::npos);
  CHECK(env.read("known", "report.html").find("(64 reasoning)") != std::string::npos);
}

TEST_CASE("the schema of every stage goes on the wire in its authored order: evidence and reasons first") {
  ReasoningProvider provider(Dialect::openai_reasoning, "gpt-5-mini");
  auto& [server, env] = provider;
  REQUIRE(provider.run_example("ordered").exit_code == 0);
  std::map<std::string, nlohmann::ordered_json> by_name;
  for (const auto& raw : server.raw_requests()) {
    const auto body = nlohmann::ordered_json::parse(raw);
    const auto& format = body.at("response_format");
    REQUIRE(format.at("type") == "json_schema");
    const auto& schema = format.at("json_schema").at("schema");
    CHECK(check_authored_order(schema) > 0);
    by_name[format.at("json_schema").at("name").get<std::string>()] = schema;
  }
  REQUIRE(by_name.count("mechanisms"));
  const auto& mechanism = by_name["mechanisms"]["properties"]["mechanisms"]["items"];
  CHECK(sent_before(mechanism, "example", "mechanism"));
  CHECK(sent_before(mechanism, "why_it_works", "type"));
  CHECK(sent_before(mechanism, "why_it_works", "structural_sentence"));
  CHECK(sent_before(by_name["mechanisms"]["properties"]["evidence"], "rationale", "strength"));
  REQUIRE(by_name.count("signals"));
  // Stage 2 is asked one anatomy per mechanism, under its id.
  const auto& anatomy = by_name["signals"]["properties"]["anatomies"]["properties"]["M1"];
  CHECK(sent_before(anatomy, "classification_rationale", "primary_type"));
  CHECK(sent_before(anatomy, "defensibility_rationale", "defensibility"));
  REQUIRE(by_name.count("lessons"));
  CHECK(sent_before(by_name["lessons"]["properties"]["consumer_goods_fit"], "rationale", "rating"));
  REQUIRE(by_name.count("contextualize"));
  const auto& fit = by_name["contextualize"]["properties"]["pattern_fit"]["properties"]["convenience"];
  CHECK(sent_before(fit, "why_this_score", "fit_score"));
  // A card keeps its authored reading order: title first, not last as the alphabet would put it.
  // (This server gets the generic profile, so stage 5's references arrive inlined.)
  REQUIRE(by_name.count("opportunities_step"));
  const auto& step = by_name["opportunities_step"];
  CHECK_FALSE(step.contains("$defs"));
  CHECK(wire_property_order(step).front() == "plan");
  CHECK(wire_property_order(step["properties"]["card"]["anyOf"][0]).front() == "title");
  CHECK(wire_property_order(step["properties"]["plan"]["anyOf"][0]["properties"]["convenience"]).front() == "title");
}

TEST_CASE("an unknown reasoning model: at most one refused request per parameter; resume pays none") {
  ReasoningProvider provider(Dialect::openai_reasoning, "house-thinker");
  auto& [server, env] = provider;
  REQUIRE(env.run({"new", example_pdf_path(), "--brand", env.brand_path, "--run-id", "learn"}).exit_code == 0);
  auto first = env.run({"mechanisms", "learn"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(reasoning_parameter_refusals(env, "learn") == 2);
  CHECK(server.request_count() == 3);
  CHECK(reasoning_requests_with(server, "max_tokens") == 1);
  const auto learned = env.checkpoint("learn").at("settings").at("model_parameters").at("house-thinker");
  CHECK(learned.at("learned") == json::array({"max_tokens", "temperature"}));
  CHECK(learned.at("token_field") == "max_completion_tokens");
  CHECK(learned.at("temperature") == false);
  auto status = env.run({"status", "learn"});
  CHECK(status.out.find("house-thinker: max_completion_tokens, no temperature (learned: max_tokens, temperature)") !=
        std::string::npos);
  // Another process starts from what the run learned: no refusal at all.
  auto rest = env.run({"resume", "learn"});
  INFO(rest.err);
  REQUIRE(rest.exit_code == 0);
  CHECK(reasoning_parameter_refusals(env, "learn") == 2);
  CHECK(server.request_count() == 3 + k_requests_per_run - 1);
  CHECK(reasoning_requests_with(server, "max_tokens") == 1);
  CHECK(reasoning_requests_with(server, "temperature") == 2);
}

TEST_CASE("OpenRouter: the models list's supported_parameters keep require_parameters from excluding the model") {
  SUBCASE("openai/gpt-5-mini, listed: no refusal, reasoning sent as reasoning.effort and kept") {
    ReasoningProvider provider(Dialect::openrouter, "openai/gpt-5-mini");
    provider.play_openrouter();
    auto& [server, env] = provider;
    auto run = provider.run_example("routed", {"--reasoning-effort", "medium", "--keep-reasoning"});
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(reasoning_parameter_refusals(env, "routed") == 0);
    CHECK(reasoning_retries(env, "routed") == 0);
    CHECK(server.request_count() == k_requests_per_run);
    CHECK(reasoning_requests_with(server, "temperature") == 0);
    for (const auto& body : server.requests()) {
      CHECK(body.at("reasoning") == json{{"effort", "medium"}});
      CHECK(body.at("provider").at("require_parameters") == true);
      CHECK(body.contains("response_format"));
    }
    const auto checkpoint = env.checkpoint("routed");
    CHECK(checkpoint.at("settings").at("model_parameters").at("openai/gpt-5-mini").at("known_from") ==
          "OpenRouter's models list (supported_parameters)");
    // The strict rung answered: structured output was never lost for a parameter.
    CHECK(checkpoint.at("settings").at("structured_output_rungs").at("openai/gpt-5-mini") == "strict");
    int kept = 0;
    for (const auto& stage : checkpoint.at("stages")) {
      for (const auto& part : stage.at("parts")) {
        REQUIRE(part.contains("reasoning"));
        const std::string thought = env.read("routed", part.at("reasoning").at("path").get<std::string>());
        CHECK(thought.find("weigh") != std::string::npos);
        CHECK(env.read("routed", part.at("artifact").at("path").get<std::string>()).find("weigh") == std::string::npos);
        ++kept;
      }
    }
    CHECK(kept == k_requests_per_run);
  }
  SUBCASE("a reasoning model the list does not describe: one 404, then no temperature; structured output kept") {
    ReasoningProvider provider(Dialect::openrouter, "acme/deep-reasoner");
    provider.play_openrouter();
    provider.server.set_list_parameters(false);
    auto& [server, env] = provider;
    auto run = provider.run_example("unlisted");
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(reasoning_parameter_refusals(env, "unlisted") == 1);
    CHECK(server.request_count() == k_requests_per_run + 1);
    CHECK(reasoning_requests_with(server, "temperature") == 1);
    CHECK(env.checkpoint("unlisted").at("settings").at("structured_output_rungs").at("acme/deep-reasoner") ==
          "strict");
  }
}

TEST_CASE("20 s of silence before every answer is thinking, not a stall: the run completes with no retry") {
  ReasoningProvider provider(Dialect::openai_reasoning, "gpt-5-mini");
  auto& [server, env] = provider;
  server.set_pace(Pace{std::chrono::milliseconds(20000), 0});
  auto run = provider.run_example("slow", {"--idle-timeout", "5s"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(reasoning_retries(env, "slow") == 0);
  CHECK(server.request_count() == k_requests_per_run);
  for (const auto& stage : env.checkpoint("slow").at("stages")) CHECK(stage.at("duration_s").get<double>() >= 19.5);
  // The same silence under a short --first-token-timeout is cut off, and says which timeout did it.
  auto impatient = provider.run_example("impatient", {"--first-token-timeout", "2s", "--max-retries", "0"});
  CHECK(impatient.exit_code == 75);
  CHECK(impatient.err.find("--first-token-timeout") != std::string::npos);
}

#include <doctest/doctest.h>

#include "lib/llm/model_parameters.hpp"

using namespace pipeline::llm;
using nlohmann::json;

namespace {

// OpenAI's error body, as its API answers a refused parameter.
std::string parameter_refusal_body(const std::string& message, const std::string& param, const std::string& code) {
  return json{{"error", {{"message", message}, {"type", "invalid_request_error"}, {"param", param}, {"code", code}}}}
      .dump();
}

const json k_sent_with_every_parameter = {{"model", "m"},         {"messages", json::array({{{"role", "system"}, {"content", "x"}}})},
                     {"temperature", 0.2},   {"max_tokens", 4000},
                     {"reasoning_effort", "low"}};

}  // namespace

TEST_CASE("the table knows OpenAI's reasoning models by name, on any host") {
  for (const char* model : {"gpt-5-mini", "gpt-5", "gpt-5.1", "gpt-5.2-pro", "o3", "o4-mini", "o3-mini-2025-01-31"}) {
    CAPTURE(model);
    const auto direct = table_parameters("https://api.openai.com/v1", model);
    CHECK(direct.token_field == "max_completion_tokens");
    CHECK_FALSE(direct.temperature);
    CHECK(direct.reasoning_effort);
    CHECK(direct.reasoning_model);
    // A gateway or local proxy serving the same names gets the same rules.
    CHECK(table_parameters("http://127.0.0.1:4000/v1", model) == direct);
  }
  // Through OpenRouter the vendor prefix is stripped and max_tokens stays: OpenRouter maps it itself.
  const auto routed = table_parameters("https://openrouter.ai/api/v1", "openai/gpt-5-mini");
  CHECK(routed.token_field == "max_tokens");
  CHECK_FALSE(routed.temperature);
  CHECK(routed.reasoning_model);
}

TEST_CASE("the table: OpenAI's own API takes max_completion_tokens for every model, other servers max_tokens") {
  const auto chat = table_parameters("https://api.openai.com/v1", "gpt-4o-mini");
  CHECK(chat.token_field == "max_completion_tokens");
  CHECK(chat.temperature);
  CHECK_FALSE(chat.reasoning_effort);
  CHECK_FALSE(chat.reasoning_model);
  CHECK(table_parameters("https://myres.openai.azure.com/openai/v1", "my-deployment").token_field ==
        "max_completion_tokens");
  CHECK(table_parameters("https://api.openai.com/v1", "gpt-5-chat-latest").temperature);
  const auto local = table_parameters("http://localhost:11434/v1", "llama3.2");
  CHECK(local.token_field == "max_tokens");
  CHECK(local.temperature);
  CHECK(local.reasoning_effort);
  CHECK(local.system_role == "system");
  CHECK(local.known_from == "defaults");
  // The first o1 models take instructions in neither the system nor the developer role.
  CHECK(table_parameters("https://api.openai.com/v1", "o1-mini").system_role == "user");
}

TEST_CASE("OpenRouter's supported_parameters decide temperature and reasoning") {
  const json data = json::parse(R"([
    {"id": "openai/gpt-5-mini", "supported_parameters": ["max_tokens", "reasoning", "response_format", "structured_outputs"]},
    {"id": "meta-llama/llama-3.3-70b-instruct", "supported_parameters": ["max_tokens", "temperature", "top_p"]},
    {"id": "no/list"}
  ])");
  const auto found = supported_parameters_from_models_list(
      data, {"openai/gpt-5-mini", "meta-llama/llama-3.3-70b-instruct", "no/list", "absent/model"});
  REQUIRE(found.size() == 2);
  const auto reasoning = with_supported_parameters(table_parameters("https://openrouter.ai/api/v1", "openai/gpt-5-mini"),
                                                   found.at("openai/gpt-5-mini"));
  CHECK_FALSE(reasoning.temperature);
  CHECK(reasoning.reasoning_effort);
  CHECK(reasoning.token_field == "max_tokens");
  CHECK(reasoning.known_from == "OpenRouter's models list (supported_parameters)");
  const auto llama = with_supported_parameters(
      table_parameters("https://openrouter.ai/api/v1", "meta-llama/llama-3.3-70b-instruct"),
      found.at("meta-llama/llama-3.3-70b-instruct"));
  CHECK(llama.temperature);
  CHECK_FALSE(llama.reasoning_effort);
}

TEST_CASE("a refused parameter is fixed once, from OpenAI's own error bodies") {
  ModelParameters parameters;
  auto fix = learn_from_refusal(parameters, 400,
                                parameter_refusal_body("Unsupported parameter: 'max_tokens' is not supported with this model. "
                                               "Use 'max_completion_tokens' instead.",
                                               "max_tokens", "unsupported_parameter"),
                                k_sent_with_every_parameter, false);
  REQUIRE(fix);
  CHECK(fix->parameter == "max_tokens");
  CHECK(parameters.token_field == "max_completion_tokens");

  fix = learn_from_refusal(parameters, 400,
                           parameter_refusal_body("Unsupported value: 'temperature' does not support 0.2 with this model. Only "
                                          "the default (1) value is supported.",
                                          "temperature", "unsupported_value"),
                           k_sent_with_every_parameter, false);
  REQUIRE(fix);
  CHECK(fix->parameter == "temperature");
  CHECK_FALSE(parameters.temperature);
  CHECK(parameters.learned == std::vector<std::string>{"max_tokens", "temperature"});

  // Never twice for the same parameter: a second refusal goes to the caller as an error.
  CHECK_FALSE(learn_from_refusal(parameters, 400,
                                 parameter_refusal_body("Unsupported parameter: 'temperature' is not supported with this model.",
                                                "temperature", "unsupported_parameter"),
                                 k_sent_with_every_parameter, false));
}

TEST_CASE("refusals worded by other servers and of other parameters") {
  SUBCASE("gpt-5.2's wording, with no param field") {
    ModelParameters parameters;
    const auto fix = learn_from_refusal(
        parameters, 400,
        json{{"error", {{"message", "Unsupported parameter: 'temperature' is not supported with this model."}}}}.dump(),
        k_sent_with_every_parameter, false);
    REQUIRE(fix);
    CHECK_FALSE(parameters.temperature);
  }
  SUBCASE("an older server that does not know max_completion_tokens") {
    ModelParameters parameters;
    parameters.token_field = "max_completion_tokens";
    json sent = k_sent_with_every_parameter;
    sent.erase("max_tokens");
    sent["max_completion_tokens"] = 4000;
    const auto fix = learn_from_refusal(
        parameters, 400,
        json{{"error", {{"message", "Unrecognized request argument supplied: max_completion_tokens"}}}}.dump(), sent,
        false);
    REQUIRE(fix);
    CHECK(parameters.token_field == "max_tokens");
  }
  SUBCASE("a reasoning effort the model does not take") {
    ModelParameters parameters;
    const auto fix = learn_from_refusal(parameters, 400,
                                        parameter_refusal_body("Unsupported parameter: 'reasoning_effort' is not supported "
                                                       "with this model.",
                                                       "reasoning_effort", "unsupported_parameter"),
                                        k_sent_with_every_parameter, false);
    REQUIRE(fix);
    CHECK_FALSE(parameters.reasoning_effort);
  }
  SUBCASE("o1-era models take instructions as developer messages") {
    ModelParameters parameters;
    const auto fix = learn_from_refusal(
        parameters, 400,
        parameter_refusal_body("Unsupported value: 'messages[0].role' does not support 'system' with this model.",
                       "messages[0].role", "unsupported_value"),
        k_sent_with_every_parameter, false);
    REQUIRE(fix);
    CHECK(fix->parameter == "messages[0].role");
    CHECK(parameters.system_role == "developer");
  }
  SUBCASE("a parameter that was not sent, or an error about something else, is no parameter refusal") {
    ModelParameters parameters;
    json sent = k_sent_with_every_parameter;
    sent.erase("temperature");
    CHECK_FALSE(learn_from_refusal(parameters, 400,
                                   parameter_refusal_body("Unsupported value: 'temperature' does not support 0.2 with this "
                                                  "model.",
                                                  "temperature", "unsupported_value"),
                                   sent, false));
    CHECK_FALSE(learn_from_refusal(parameters, 400,
                                   parameter_refusal_body("Invalid schema for response_format 'x': 'minLength' is not "
                                                  "permitted.",
                                                  "response_format", "invalid_value"),
                                   k_sent_with_every_parameter, false));
    CHECK_FALSE(learn_from_refusal(parameters, 401, parameter_refusal_body("Incorrect API key provided.", "", "invalid_api_key"),
                                   k_sent_with_every_parameter, false));
    CHECK(parameters.learned.empty());
  }
}

TEST_CASE("OpenRouter's 404 for parameters no endpoint takes drops temperature, then reasoning, then nothing") {
  const std::string no_endpoints =
      json{{"error", {{"message", "No endpoints found that can handle the requested parameters. To learn more about "
                                  "provider routing, visit: https://openrouter.ai/docs/provider-routing"},
                      {"code", 404}}}}
          .dump();
  json sent = k_sent_with_every_parameter;
  sent["reasoning"] = {{"effort", "low"}};
  ModelParameters parameters;
  auto fix = learn_from_refusal(parameters, 404, no_endpoints, sent, true);
  REQUIRE(fix);
  CHECK(fix->parameter == "temperature");
  sent.erase("temperature");
  fix = learn_from_refusal(parameters, 404, no_endpoints, sent, true);
  REQUIRE(fix);
  CHECK(fix->parameter == "reasoning");
  sent.erase("reasoning");
  // What is left is the structured output: the ladder's to judge.
  CHECK_FALSE(learn_from_refusal(parameters, 404, no_endpoints, sent, true));
  // Not on another host, and not when the models list said what the model takes.
  ModelParameters fresh;
  CHECK_FALSE(learn_from_refusal(fresh, 404, no_endpoints, k_sent_with_every_parameter, false));
  ModelParameters listed = with_supported_parameters(ModelParameters{}, json::array({"temperature", "max_tokens"}));
  CHECK_FALSE(learn_from_refusal(listed, 404, no_endpoints, k_sent_with_every_parameter, true));
}

TEST_CASE("model parameters round-trip through JSON, unknown values kept at their defaults") {
  ModelParameters parameters = table_parameters("https://api.openai.com/v1", "o3");
  parameters.learned = {"messages[0].role"};
  parameters.system_role = "developer";
  CHECK(ModelParameters::from_json(parameters.to_json()) == parameters);
  const auto odd = ModelParameters::from_json(json{{"token_field", "max_length"}, {"temperature", "no"}});
  CHECK(odd.token_field == "max_tokens");
  CHECK(odd.temperature);
}

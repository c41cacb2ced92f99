#include <doctest/doctest.h>

#include "stages/stage_params.hpp"
#include "stages/stage_registry.hpp"

using namespace pipeline;

TEST_CASE("StageParams survive a JSON round trip") {
  const stages::StageParams params{0.25, 6000, "openai/gpt-4o"};
  const auto json = params.to_json();
  CHECK(json == nlohmann::json({{"temperature", 0.25}, {"max_tokens", 6000}, {"model", "openai/gpt-4o"}}));
  const auto back = stages::StageParams::from_json(json);
  CHECK(back.temperature == doctest::Approx(0.25));
  CHECK(back.max_tokens == 6000);
  CHECK(back.model == "openai/gpt-4o");
}

TEST_CASE("max_input_tokens is written only when set and read back") {
  const stages::StageParams params{0.3, 5000, {}, 120000};
  const auto json = params.to_json();
  CHECK(json["max_input_tokens"] == 120000);
  CHECK(stages::StageParams::from_json(json).max_input_tokens == 120000);
  CHECK_FALSE(stages::StageParams{0.3, 5000, {}}.to_json().contains("max_input_tokens"));
  CHECK(stages::StageParams::from_json({{"max_input_tokens", "many"}}).max_input_tokens == 0);
}

TEST_CASE("from_json invents no defaults: what is missing or mistyped stays zero") {
  const auto params = stages::StageParams::from_json({{"max_tokens", 100}, {"model", 7}});
  CHECK(params.max_tokens == 100);
  CHECK(params.temperature == 0);
  CHECK(params.model.empty());
  const auto nothing = stages::StageParams::from_json("junk");
  CHECK(nothing.temperature == 0);
  CHECK(nothing.max_tokens == 0);
}

TEST_CASE("parse_stage_params overrides defaults and refuses bad values naming where") {
  const stages::StageParams defaults{0.3, 5000, {}};
  auto merged = stages::parse_stage_params({{"temperature", 0.9}}, defaults, "config.json: stages.signals");
  REQUIRE(merged);
  CHECK(merged->temperature == doctest::Approx(0.9));
  CHECK(merged->max_tokens == 5000);
  for (const auto& bad : {nlohmann::json({{"temperature", 3}}), nlohmann::json({{"temperature", "hot"}}),
                          nlohmann::json({{"max_tokens", 0}}), nlohmann::json({{"max_tokens", 1.5}}),
                          nlohmann::json({{"model", 7}}), nlohmann::json({{"top_p", 0.5}}), nlohmann::json(3)}) {
    CAPTURE(bad.dump());
    auto result = stages::parse_stage_params(bad, defaults, "config.json: stages.signals");
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == util::ErrorKind::bad_input);
    CHECK(result.error().message.find("config.json: stages.signals") != std::string::npos);
  }
}

TEST_CASE("parse_stage_params takes max_input_tokens only for a stage that has one") {
  const stages::StageParams splits{0.3, 5000, {}, 100000};
  for (int value : {1000, 64000, 10000000}) {
    auto parsed = stages::parse_stage_params({{"max_input_tokens", value}}, splits, "config.json: stages.mechanisms");
    REQUIRE(parsed);
    CHECK(parsed->max_input_tokens == value);
    CHECK(parsed->max_tokens == 5000);
  }
  for (const auto& bad : {nlohmann::json(999), nlohmann::json(10000001), nlohmann::json(5000.5), nlohmann::json("64000"),
                          nlohmann::json(0), nlohmann::json(-1)}) {
    CAPTURE(bad.dump());
    auto result = stages::parse_stage_params({{"max_input_tokens", bad}}, splits, "config.json: stages.mechanisms");
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == util::ErrorKind::bad_input);
    CHECK(result.error().message.find("config.json: stages.mechanisms: max_input_tokens must be") != std::string::npos);
  }

  const stages::StageParams whole{0.3, 5000, {}};
  auto refused = stages::parse_stage_params({{"max_input_tokens", 64000}}, whole, "--set signals.max_input_tokens=64000");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == util::ErrorKind::bad_input);
  CHECK(refused.error().message.find("--set signals.max_input_tokens=64000") != std::string::npos);
  CHECK(refused.error().message.find("does not") != std::string::npos);
  auto unknown = stages::parse_stage_params({{"top_p", 1}}, splits, "here");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message.find("max_input_tokens") != std::string::npos);
}

TEST_CASE("only mechanisms splits its input, by default at 100000 tokens") {
  for (const auto& stage : stages::all_stages()) {
    CAPTURE(stage->name());
    CHECK(stage->default_params().max_input_tokens == (stage->name() == "mechanisms" ? 100000 : 0));
  }
}

TEST_CASE("default parameters are cooler for analysis than for generation and leave room for the schema") {
  for (const auto& stage : stages::all_stages()) {
    const auto params = stage->default_params();
    CHECK(params.model.empty());
    CHECK(params.max_tokens >= 4000);
    if (stage->number() <= 3) CHECK(params.temperature < stages::find_stage("opportunities")->default_params().temperature);
  }
}

TEST_CASE("a stage's rpm and tpm are read, written only when set, and checked") {
  const stages::StageParams defaults{0.3, 5000, {}};
  auto parsed = stages::parse_stage_params({{"rpm", 30}, {"tpm", 90000}}, defaults, "config: stages.signals");
  REQUIRE(parsed.has_value());
  CHECK(parsed->rpm == 30);
  CHECK(parsed->tpm == 90000);
  const auto json = parsed->to_json();
  CHECK(json["rpm"] == 30);
  CHECK(json["tpm"] == 90000);
  CHECK(stages::StageParams::from_json(json).tpm == 90000);
  CHECK_FALSE(defaults.to_json().contains("rpm"));
  CHECK_FALSE(defaults.to_json().contains("tpm"));
  auto negative = stages::parse_stage_params({{"tpm", -1}}, defaults, "config: stages.signals");
  REQUIRE_FALSE(negative.has_value());
  CHECK(negative.error().message.find("tpm must be a whole number") != std::string::npos);
  CHECK_FALSE(stages::parse_stage_params({{"rpm", "fast"}}, defaults, "x").has_value());
}

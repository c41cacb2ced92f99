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

TEST_CASE("default parameters are cooler for analysis than for generation and leave room for the schema") {
  for (const auto& stage : stages::all_stages()) {
    const auto params = stage->default_params();
    CHECK(params.model.empty());
    CHECK(params.max_tokens >= 4000);
    if (stage->number() <= 3) CHECK(params.temperature < stages::find_stage("opportunities")->default_params().temperature);
  }
}

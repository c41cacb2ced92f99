#include <doctest/doctest.h>

#include "lib/llm/json_schema.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "stages/contextualize_stage.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_request.hpp"
#include "stages/vocabulary.hpp"
#include "tests/fake_server/fake_llm_server.hpp"
#include "tests/support/memory_stage_work.hpp"
#include "tests/support/schema_checks.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;
using pipeline::llm::validate_json;
using pipeline::testing::sample_context;
using pipeline::testing::sample_output;

namespace {

const stages::ContextualizeStage k_contextualize_stage;

const nlohmann::json k_pattern_names = {"better_for_you", "premiumisation", "convenience", "format_migration", "occasion_expansion"};

}  // namespace

TEST_CASE("contextualize is stage 4 and reads the brand and stages 1 to 3") {
  CHECK(k_contextualize_stage.number() == 4);
  CHECK(k_contextualize_stage.name() == "contextualize");
  CHECK(k_contextualize_stage.reads() == std::vector<int>{1, 2, 3});
  CHECK(k_contextualize_stage.uses_brand());
}

TEST_CASE("contextualize schema maps all five patterns, scores three directions and names claims and go / no-go") {
  const auto& schema = k_contextualize_stage.schema();
  CHECK(testing::schema_subset_problems(schema).empty());
  const auto& fit = schema["properties"]["pattern_fit"];
  CHECK(fit["required"] == k_pattern_names);
  for (const auto& pattern : k_pattern_names) {
    const auto& entry = fit["properties"][pattern.get<std::string>()];
    CHECK(entry["properties"]["fit_score"]["minimum"] == 1);
    CHECK(entry["properties"]["fit_score"]["maximum"] == 5);
    CHECK(entry["properties"].contains("mechanism_id"));
    CHECK(entry["properties"].contains("application"));
  }
  const auto& thresholds = schema["properties"]["retail_thresholds"]["properties"];
  CHECK(thresholds.contains("velocity_units_per_store_per_week"));
  CHECK(thresholds.contains("gross_margin_pct"));
  CHECK(thresholds.contains("shelf_visibility"));
  const auto& directions = schema["properties"]["strongest_directions"];
  CHECK(directions["minItems"] == 3);
  CHECK(directions["maxItems"] == 3);
  CHECK(directions["items"]["properties"]["pattern"]["enum"] == k_pattern_names);
  CHECK(directions["items"]["properties"]["scorecard"]["required"] ==
        nlohmann::json({"velocity", "margin", "shelf_visibility"}));
  CHECK(schema["properties"]["claims"]["required"] == nlohmann::json({"can_make", "cannot_make"}));
  CHECK(schema["properties"]["go_no_go"]["required"] == nlohmann::json({"manufacturing", "regulation", "investment"}));
  CHECK_FALSE(schema["properties"].contains("retail_viability"));
}

TEST_CASE("the contextualize sample conforms; a fit of 6, a missing pattern or a margin over 100 does not") {
  const auto& schema = k_contextualize_stage.schema();
  CHECK(validate_json(schema, sample_output(4)).empty());
  auto high = sample_output(4);
  high["pattern_fit"]["convenience"]["fit_score"] = 6;
  CHECK_FALSE(validate_json(schema, high).empty());
  auto missing = sample_output(4);
  missing["pattern_fit"].erase("format_migration");
  CHECK_FALSE(validate_json(schema, missing).empty());
  auto margin = sample_output(4);
  margin["strongest_directions"][0]["scorecard"]["margin"]["expected_gross_margin_pct"] = 120;
  CHECK_FALSE(validate_json(schema, margin).empty());
}

TEST_CASE("the contextualize request carries the brand, the document and stages 1 to 3") {
  auto prompt = prompts::load_prompt("contextualize");
  REQUIRE(prompt);
  auto request = stages::build_request(k_contextualize_stage, *prompt, sample_context(4), k_contextualize_stage.default_params(), "run-model");
  REQUIRE(request);
  REQUIRE(request->schema);
  // build_request sends the whole output schema; produce() sends it without the brand facts the program writes.
  CHECK(*request->schema == k_contextualize_stage.schema());
  CHECK(request->schema_name == "contextualize");
  // The document and the analyses, which every brand of a batch shares, then
  // the brand with its rules in a user message of its own.
  REQUIRE(request->messages.size() == 3);
  const std::string& user = request->messages.at(1).content;
  CHECK(request->messages.at(1).cache_break);
  const std::string& own = request->messages.at(2).content;
  const auto brand = own.find("<brand_profile>");
  REQUIRE(brand != std::string::npos);
  CHECK(own.find(testing::sample_brand_text(), brand) != std::string::npos);
  CHECK(own.find("</brand_profile>", brand) != std::string::npos);
  CHECK(user.find("<brand_profile>") == std::string::npos);
  CHECK(user.find(testing::sample_document_text()) != std::string::npos);
  for (const char* block : {"<stage_output stage=\"1\" name=\"mechanisms\">", "<stage_output stage=\"2\" name=\"signals\">",
                            "<stage_output stage=\"3\" name=\"lessons\">"}) {
    CHECK_MESSAGE(user.find(block) != std::string::npos, block);
  }
  CHECK(user.find("Taking the order before making a perishable product") != std::string::npos);
  // The document comes first and the brand last: the model leans on what it read last.
  CHECK(user.find("<document") < user.find("<stage_output stage=\"1\""));
  // The feasibility rules read from the profile come with the brand; the system prompt holds nothing of the run.
  CHECK(own.find("no cold chain") > brand);
  const std::string& system = request->messages.at(0).content;
  CHECK(system.find("no cold chain") == std::string::npos);
  CHECK(system == prompt->system);
  CHECK(system.find("shelf to subscription") == std::string::npos);
}

TEST_CASE("a contextualize request without a brand is refused") {
  auto prompt = prompts::load_prompt("contextualize");
  REQUIRE(prompt);
  auto context = sample_context(4);
  context.brand_text.clear();
  auto request = stages::build_request(k_contextualize_stage, *prompt, context, k_contextualize_stage.default_params(), "run-model");
  REQUIRE_FALSE(request);
  CHECK(request.error().kind == util::ErrorKind::bad_input);
}

TEST_CASE("contextualize renders fit, competitors, all five patterns, thresholds, scorecards, claims and go / no-go") {
  const auto files = k_contextualize_stage.render(sample_output(4));
  REQUIRE(files.size() == 2);
  CHECK(nlohmann::json::parse(testing::rendered_file(files, "stages/04-contextualize.json")) == sample_output(4));
  const std::string markdown = testing::rendered_file(files, "stages/04-contextualize.md");
  CHECK(markdown.rfind("# 4. Brand contextualisation\n", 0) == 0);
  for (const char* expected : {"**Brand:** Acme Foods GmbH", "**Acme Morning Rolls**", "No direct-to-consumer channel",
                               "| Lieken | Packaged bread in every German supermarket | High |",
                               "| Better-for-you | 4 / 5 | M2 |", "| Premiumisation | 2 / 5 | M2 |",
                               "| Occasion expansion | 4 / 5 | M3 |",
                               "- Velocity: at least 12 units per store per week", "- Gross margin: at least 30 %",
                               "### 1. Morning Rolls lockers in Deutsche Bahn stations",
                               "| Velocity | 12 units/store/week | 40 units/store/week | meets |",
                               "| Velocity | 12 units/store/week | 6 units/store/week | below |",
                               "| Shelf visibility | as above |  | below | Freshness shows only after purchase |",
                               "| Simple ingredients | Morning Rolls list five ingredients |",
                               "| Healthier than bakery bread | No nutrition study supports it |",
                               "| Manufacturing | The Cologne plant can bake", "- Claim simple ingredients",
                               "| Overnight baking raises labour costs | Medium |"}) {
    CHECK_MESSAGE(markdown.find(expected) != std::string::npos, expected);
  }
}

namespace {

// The sample stage 4 output as the model answers it: without the brand facts the program writes.
nlohmann::json contextualize_answer() {
  nlohmann::json answer = sample_output(4);
  answer.erase("brand_facts");
  for (auto& direction : answer["strongest_directions"]) direction.erase("fit_flag");
  return answer;
}

}  // namespace

TEST_CASE("stage 4 records the brand facts it held the brand to, and the profile's launch limits win") {
  testing::MemoryStageWork work(sample_context(4), k_contextualize_stage.default_params());
  work.set_answer([](const stages::NamedRequest&) -> util::Expected<nlohmann::json> { return contextualize_answer(); });
  auto output = k_contextualize_stage.produce(work);
  REQUIRE(output);
  CHECK(*output == sample_output(4));
  CHECK(validate_json(k_contextualize_stage.schema(), *output).empty());
  // The model is not asked for the brand facts.
  const auto asks = work.asks();
  const auto& request = asks.at(0).at(0).request;
  REQUIRE(request.schema);
  CHECK_FALSE(request.schema->at("properties").contains("brand_facts"));
  CHECK(request.schema->at("properties").contains("launch_limits"));
  CHECK(validate_json(*request.schema, contextualize_answer()).empty());
  CHECK(testing::schema_subset_problems(*request.schema).empty());
  // Each pattern's fit and each go / no-go area are one definition, referred to.
  const auto& schema = *request.schema;
  for (const auto& pattern : stages::vocabulary::patterns())
    CHECK(schema["properties"]["pattern_fit"]["properties"][pattern] == nlohmann::json({{"$ref", "#/$defs/pattern_fit_entry"}}));
  for (const char* area : {"manufacturing", "regulation", "investment"})
    CHECK(schema["properties"]["go_no_go"]["properties"][area] == nlohmann::json({{"$ref", "#/$defs/go_no_go_area"}}));
  // The entry's mechanisms are held to those stage 1 found, inside "$defs" too.
  CHECK(schema["$defs"]["pattern_fit_entry"]["properties"]["mechanism_id"]["enum"] == nlohmann::json({"M1", "M2", "M3"}));
  auto wrong_fit = contextualize_answer();
  wrong_fit["pattern_fit"]["convenience"]["fit_score"] = 6;
  CHECK_FALSE(validate_json(schema, wrong_fit).empty());
  CHECK(schema.dump().size() < k_contextualize_stage.schema().dump().size());

  auto context = sample_context(4);
  context.brand_profile["launch_limits"] = {{"largest_investment", 500000}};
  testing::MemoryStageWork stated(context, k_contextualize_stage.default_params());
  stated.set_answer([](const stages::NamedRequest&) -> util::Expected<nlohmann::json> { return contextualize_answer(); });
  auto held = k_contextualize_stage.produce(stated);
  REQUIRE(held);
  CHECK((*held)["launch_limits"]["largest_investment"] == 500000.0);
  CHECK((*held)["launch_limits"]["longest_months_to_launch"] == 18);
  CHECK((*held)["launch_limits"]["basis"].get<std::string>().rfind("Largest investment stated in the brand profile; ", 0) == 0);
}

TEST_CASE("stage 4's strongest directions are held to what the brand can make and sell") {
  testing::MemoryStageWork work(sample_context(4), k_contextualize_stage.default_params());
  work.set_answer([](const stages::NamedRequest&) -> util::Expected<nlohmann::json> { return contextualize_answer(); });
  REQUIRE(k_contextualize_stage.produce(work));
  const auto asks = work.asks();
  const auto& request = asks.at(0).at(0).request;
  REQUIRE(request.style_check);
  CHECK(request.style_check(contextualize_answer()).empty());
  auto chilled = contextualize_answer();
  chilled["strongest_directions"][1]["direction"] = "Chilled overnight oats in station fridges";
  CHECK(request.style_check(chilled).find("strongest direction 2 speaks of chilled or frozen goods") != std::string::npos);
  auto direct = contextualize_answer();
  direct["strongest_directions"][0]["why_this_brand"] = "A subscription app would give Acme its own customers";
  CHECK(request.style_check(direct).find("strongest direction 1 speaks of a subscription") != std::string::npos);
}

TEST_CASE("stage 4's markdown lists the brand facts, stated or inferred, and the launch limits") {
  const auto files = k_contextualize_stage.render(sample_output(4));
  const std::string markdown = testing::rendered_file(files, "stages/04-contextualize.md");
  for (const char* expected : {"## Brand facts the stages hold it to", "- Currency: EUR (inferred: currency taken as EUR from the country \"Germany\")",
                               "- Cold chain: no (inferred: cold chain taken as no",
                               "- Current prices: none stated (inferred: no current prices",
                               "- Largest investment in one launch: 2000000", "- Longest time to launch: 18 months"}) {
    CHECK_MESSAGE(markdown.find(expected) != std::string::npos, expected);
  }
}

TEST_CASE("stage 4's three directions are three patterns: two on one pattern break the contract") {
  testing::MemoryStageWork work(sample_context(4), k_contextualize_stage.default_params());
  work.set_answer([](const stages::NamedRequest&) -> util::Expected<nlohmann::json> { return contextualize_answer(); });
  REQUIRE(k_contextualize_stage.produce(work));
  const auto request = work.requests().at(0).request;
  REQUIRE(request.check);
  CHECK(request.check(contextualize_answer()).empty());
  auto twice = contextualize_answer();
  twice["strongest_directions"][2]["pattern"] = "convenience";
  CHECK(request.check(twice).find("directions 1 and 3 are both on the convenience pattern") != std::string::npos);
  // Answered so after the re-asks, the stage fails.
  testing::MemoryStageWork stuck(sample_context(4), k_contextualize_stage.default_params());
  stuck.set_answer([&](const stages::NamedRequest&) -> util::Expected<nlohmann::json> { return twice; });
  auto failed = k_contextualize_stage.produce(stuck);
  REQUIRE_FALSE(failed);
  CHECK(failed.error().message.find("both on the convenience pattern") != std::string::npos);
}

TEST_CASE("stage 4 lists its directions by fit score and flags one whose pattern fits worse than one left out") {
  // The model's order: better-for-you (fit 4), convenience (5), occasion expansion (4).
  auto answer = contextualize_answer();
  std::swap(answer["strongest_directions"][0], answer["strongest_directions"][1]);
  const auto produced = [](const nlohmann::json& given) {
    testing::MemoryStageWork work(sample_context(4), k_contextualize_stage.default_params());
    work.set_answer([given](const stages::NamedRequest&) -> util::Expected<nlohmann::json> { return given; });
    return k_contextualize_stage.produce(work);
  };
  const auto patterns_of = [](const nlohmann::json& output) {
    std::vector<std::string> patterns;
    for (const auto& direction : output["strongest_directions"]) patterns.push_back(direction["pattern"]);
    return patterns;
  };
  auto output = produced(answer);
  REQUIRE(output);
  // Highest fit first; the two of fit 4 keep the model's order.
  CHECK(patterns_of(*output) == std::vector<std::string>{"convenience", "better_for_you", "occasion_expansion"});
  for (const auto& direction : (*output)["strongest_directions"]) CHECK(direction["fit_flag"].is_null());
  CHECK(validate_json(k_contextualize_stage.schema(), *output).empty());

  // Premiumisation, which no direction takes, now scores 5: the two directions of fit 4 are flagged, not asked again.
  answer["pattern_fit"]["premiumisation"]["fit_score"] = 5;
  auto flagged = produced(answer);
  REQUIRE(flagged);
  const auto& directions = (*flagged)["strongest_directions"];
  CHECK(directions[0]["fit_flag"].is_null());
  CHECK(directions[1]["fit_flag"] ==
        "pattern_fit scores its pattern, better_for_you, 4 of 5, below premiumisation (5 of 5), which no direction takes");
  CHECK(directions[2]["fit_flag"].get<std::string>().find("occasion_expansion, 4 of 5") != std::string::npos);
  CHECK(validate_json(k_contextualize_stage.schema(), *flagged).empty());
  const std::string markdown = testing::rendered_file(k_contextualize_stage.render(*flagged), "stages/04-contextualize.md");
  CHECK(markdown.find("**Check the fit:** pattern_fit scores its pattern, better_for_you, 4 of 5") != std::string::npos);
}

TEST_CASE("the fake model's stage 4 answers take three different patterns") {
  testing::MemoryStageWork work(sample_context(4), k_contextualize_stage.default_params());
  auto output = k_contextualize_stage.produce(work);
  REQUIRE(output);
  CHECK(validate_json(k_contextualize_stage.schema(), *output).empty());
  const auto request = work.requests().at(0).request;

  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    CAPTURE(seed);
    const auto answer = testing::generate_from_schema(*request.schema, seed);
    CHECK(request.check(answer).empty());
  }
}

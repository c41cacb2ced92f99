#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/cli_env.hpp"
#include "tests/support/process.hpp"
#include "tests/support/run_fixture.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using pipeline::testing::ProcessOptions;
using pipeline::testing::ProcessResult;
using pipeline::testing::run_pipeline;
using pipeline::testing::split_lines;
using pipeline::testing::TempDir;

namespace {

const fs::path k_examples = fs::path(PIPELINE_SOURCE_DIR) / "examples" / "brands";

// Runs with no PIPELINE_BRANDS_DIR from the caller's environment unless given.
ProcessResult run(const std::vector<std::string>& args, std::map<std::string, std::string> env = {}) {
  env.emplace("PIPELINE_BRANDS_DIR", "");
  ProcessOptions options;
  options.env = std::move(env);
  return run_pipeline(args, options);
}

json brand_json(const std::string& id, const std::string& company) {
  return json{
      {"id", id},
      {"company_name", company},
      {"country", "Norway"},
      {"industry", "Canned fish"},
      {"positioning", "Fjord fish for the pantry"},
      {"portfolio", {"Sardines", "Mackerel"}},
      {"target_customers", {"Campers"}},
      {"recent_innovations", {"Ring-pull lids"}},
      {"strategic_priorities", {"Export"}},
      {"brand_values", {"Patience"}},
  };
}

std::string write_brand(const fs::path& dir, const json& profile, const std::string& name = "") {
  fs::create_directories(dir);
  const auto path = dir / ((name.empty() ? profile.at("id").get<std::string>() : name) + ".json");
  std::ofstream(path) << profile.dump(2);
  return path.string();
}

// The one error line a failing command must print, and nothing else on stderr.
void check_one_error_line(const ProcessResult& result, const std::string& part) {
  const auto lines = split_lines(result.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("pipeline: error: ", 0) == 0);
  CHECK(lines[0].find(part) != std::string::npos);
}

}  // namespace

TEST_CASE("brands list shows the example brands, as a table and as JSON") {
  auto human = run({"brands", "list"});
  CHECK(human.exit_code == 0);
  CHECK(human.out.rfind("ID", 0) == 0);
  for (const char* id : {"hollowmere-dairy", "larchline-outdoor", "marigold-mill"}) {
    CHECK(human.out.find(id) != std::string::npos);
  }

  for (const auto& args : {std::vector<std::string>{"brands", "list", "--json"},
                           std::vector<std::string>{"--json", "brands", "list"}}) {
    auto machine = run(args);
    REQUIRE(machine.exit_code == 0);
    const auto items = json::parse(machine.out);
    REQUIRE(items.is_array());
    REQUIRE(items.size() == 3);
    CHECK(items[0].at("id") == "hollowmere-dairy");
    CHECK(items[1].at("id") == "larchline-outdoor");
    CHECK(items[2].at("id") == "marigold-mill");
    for (const auto& item : items) {
      CHECK(item.at("company_name").is_string());
      CHECK(item.at("industry").is_string());
      // The shipped brands may come from an installed copy rather than the source tree.
      const fs::path source = item.at("source").get<std::string>();
      CHECK(source.filename() == item.at("id").get<std::string>() + ".json");
      CHECK(fs::is_regular_file(source));
    }
  }
}

TEST_CASE("brands list warns about files it skips but still succeeds") {
  TempDir dir;
  auto broken = brand_json("broken", "Broken Ltd");
  broken.erase("portfolio");
  write_brand(dir.path(), broken);
  auto result = run({"brands", "list", "--json", "--brands-dir", dir.path()});
  CHECK(result.exit_code == 0);
  CHECK(json::parse(result.out).size() == 3);
  CHECK(result.err.find("pipeline: warning: skipped") != std::string::npos);
  CHECK(result.err.find("field \"portfolio\" is missing") != std::string::npos);
}

TEST_CASE("brands show prints the profile with its research notes") {
  auto human = run({"brands", "show", "larchline-outdoor"});
  REQUIRE(human.exit_code == 0);
  CHECK(human.out.find("# Brand: Larchline Outdoor Ltd. (larchline-outdoor)") != std::string::npos);
  CHECK(human.out.find("## Research notes") != std::string::npos);
  CHECK(human.out.find("## Portfolio") != std::string::npos);

  auto machine = run({"brands", "show", "larchline-outdoor", "--json"});
  REQUIRE(machine.exit_code == 0);
  const auto profile = json::parse(machine.out);
  CHECK(profile.at("id") == "larchline-outdoor");
  CHECK_FALSE(profile.contains("research_file"));
  std::ifstream notes(k_examples / "larchline-outdoor.research.md");
  const std::string research((std::istreambuf_iterator<char>(notes)), std::istreambuf_iterator<char>());
  CHECK(profile.at("research") == research);

  auto by_path = run({"brands", "show", (k_examples / "marigold-mill.json").string(), "--json"});
  REQUIRE(by_path.exit_code == 0);
  CHECK(json::parse(by_path.out).at("company_name") == "Marigold Mill Spice Co.");
}

TEST_CASE("brands show fails with exit 3 and one line for unknown or invalid ids") {
  auto unknown = run({"brands", "show", "acme-foods"});
  CHECK(unknown.exit_code == 3);
  CHECK(unknown.out.empty());
  check_one_error_line(unknown, "unknown brand \"acme-foods\"; available: hollowmere-dairy, larchline-outdoor, "
                                "marigold-mill");

  auto bad_id = run({"brands", "show", "Acme"});
  CHECK(bad_id.exit_code == 3);
  check_one_error_line(bad_id, "invalid brand id \"Acme\"");

  auto traversal = run({"brands", "show", "../etc/passwd"});
  CHECK(traversal.exit_code == 3);
  check_one_error_line(traversal, "../etc/passwd");
}

TEST_CASE("brands validate reports each file and exits 3 when any is invalid") {
  TempDir dir;
  const auto good = write_brand(dir.path(), brand_json("fjord-fish", "Fjord Fish AS"));
  auto wrong = brand_json("wrong", "Wrong AS");
  wrong["brand_values"] = json::array();
  const auto bad = write_brand(dir.path(), wrong);
  const auto broken = (fs::path(dir.path()) / "broken.json").string();
  std::ofstream(broken) << "{\n  \"id\": \"broken\",,\n}\n";

  auto examples = run({"brands", "validate", (k_examples / "hollowmere-dairy.json").string(),
                       (k_examples / "larchline-outdoor.json").string(), (k_examples / "marigold-mill.json").string()});
  CHECK(examples.exit_code == 0);
  CHECK(split_lines(examples.out).size() == 3);
  CHECK(examples.err.empty());

  auto mixed = run({"brands", "validate", good, bad, broken});
  CHECK(mixed.exit_code == 3);
  const auto lines = split_lines(mixed.out);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == good + ": ok (brand \"fjord-fish\")");
  CHECK(lines[1] == bad + ": field \"brand_values\" must be a non-empty array of strings");
  CHECK(lines[2].rfind(broken + ": invalid JSON at line 2, column 18", 0) == 0);
  check_one_error_line(mixed, "2 of 3 brand files are invalid");

  auto machine = run({"brands", "validate", "--json", good, bad});
  CHECK(machine.exit_code == 3);
  const auto results = json::parse(machine.out);
  REQUIRE(results.size() == 2);
  CHECK(results[0].at("file") == good);
  CHECK(results[0].at("valid") == true);
  CHECK(results[0].at("error").is_null());
  CHECK(results[1].at("file") == bad);
  CHECK(results[1].at("valid") == false);
  CHECK(results[1].at("error").get<std::string>().find("\"brand_values\"") != std::string::npos);
  // Human lines go to stderr with --json, before the one error line.
  const auto err_lines = split_lines(machine.err);
  REQUIRE(err_lines.size() == 3);
  CHECK(err_lines[2] == "pipeline: error: 1 of 2 brand files are invalid");

  auto missing = run({"brands", "validate", (fs::path(dir.path()) / "absent.json").string()});
  CHECK(missing.exit_code == 3);
  CHECK(missing.out.find("does not exist") != std::string::npos);
  check_one_error_line(missing, "1 of 1 brand file is invalid");
}

TEST_CASE("brands needs a subcommand and validate needs a file") {
  CHECK(run({"brands"}).exit_code == 2);
  CHECK(run({"brands", "validate"}).exit_code == 2);
  CHECK(run({"brands", "show"}).exit_code == 2);
}

TEST_CASE("--brands-dir beats PIPELINE_BRANDS_DIR, and both come before the shipped examples") {
  TempDir dir;
  const fs::path flag_dir = fs::path(dir.path()) / "flag";
  const fs::path env_dir = fs::path(dir.path()) / "env";
  write_brand(flag_dir, brand_json("acme", "Acme from the flag"));
  write_brand(env_dir, brand_json("acme", "Acme from the environment"));
  write_brand(env_dir, brand_json("hollowmere-dairy", "A local Hollowmere"));

  auto company = [](const ProcessResult& result) {
    REQUIRE(result.exit_code == 0);
    return json::parse(result.out).at("company_name").get<std::string>();
  };
  CHECK(company(run({"brands", "show", "acme", "--json", "--brands-dir", flag_dir.string()},
                    {{"PIPELINE_BRANDS_DIR", env_dir.string()}})) == "Acme from the flag");
  CHECK(company(run({"brands", "show", "acme", "--json"}, {{"PIPELINE_BRANDS_DIR", env_dir.string()}})) ==
        "Acme from the environment");
  CHECK(company(run({"brands", "show", "hollowmere-dairy", "--json"}, {{"PIPELINE_BRANDS_DIR", env_dir.string()}})) ==
        "A local Hollowmere");
  CHECK(company(run({"brands", "show", "hollowmere-dairy", "--json", "--brands-dir", flag_dir.string()},
                    {{"PIPELINE_BRANDS_DIR", env_dir.string()}})) == "Hollowmere Dairy Co-operative");

  auto listed = run({"brands", "list", "--json"}, {{"PIPELINE_BRANDS_DIR", env_dir.string()}});
  REQUIRE(listed.exit_code == 0);
  const auto items = json::parse(listed.out);
  REQUIRE(items.size() == 4);
  CHECK(items[0].at("id") == "acme");
  CHECK(items[1].at("company_name") == "A local Hollowmere");
}

TEST_CASE("a profile that states no cold chain, no direct channel and a value position is taken at its word") {
  pipeline::testing::FakeLlmServer server;
  pipeline::testing::CliEnv env(server);
  // Its words suggest the opposite of each stated fact: dairy (cold), an own website (direct), premium.
  json profile = brand_json("fjord-dairy", "Fjord Dairy");
  profile["industry"] = "Dairy (milk, yoghurt, frozen desserts)";
  profile["positioning"] = "Premium yoghurt sold through its own website and in supermarkets";
  profile["currency"] = "NOK";
  profile["price_position"] = "value";
  profile["channels"] = {"store_retail", "foodservice"};
  profile["cold_chain"] = false;
  const std::string file = write_brand(env.dir.path() + std::string("/brands"), profile);

  const auto shown = run({"brands", "show", file});
  INFO(shown.err);
  REQUIRE(shown.exit_code == 0);
  CHECK(shown.out.find("## Market facts\n- Currency: NOK\n- Price position: value\n") != std::string::npos);
  CHECK(shown.out.find("Cold chain: no (stated)") != std::string::npos);
  CHECK(shown.out.find("Channels: store_retail, foodservice (stated)") != std::string::npos);
  CHECK(shown.out.find("Price position: value (stated)") != std::string::npos);
  CHECK(shown.out.find("inferred: no current prices") != std::string::npos);

  auto result = env.run({"run", pipeline::testing::example_pdf_path(), "--brand", file, "--run-id", "fjord"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const json cards = json::parse(env.read("fjord", "opportunities.json")).at("opportunities");
  REQUIRE(cards.size() == 5);
  // What the plan and the brand fix is on each card as they fixed it, not as the writer might have drifted.
  const json plan = json::parse(env.read("fjord", "stages/05-opportunities.parts/plan.json")).at("plan");
  for (const auto& card : cards) {
    CAPTURE(card.dump());
    CHECK(card.at("feasibility").at("storage") == "ambient");
    const std::string channel = card.at("feasibility").at("channel");
    CHECK((channel == "store_retail" || channel == "foodservice"));
    const auto& planned = plan.at(card.at("pattern").get<std::string>());
    CHECK(card.at("mechanism_id") == planned.at("mechanism_id"));
    CHECK(card.at("format") == planned.at("format"));
    CHECK(card.at("feasibility").at("price_tier") == planned.at("price_tier"));
    CHECK(card.at("brand_anchor") == planned.at("brand_anchor"));
    CHECK(card.at("retail").at("currency") == "NOK");
    CHECK(card.at("launch").at("investment").at("currency") == "NOK");
    CHECK(card.at("price_point") == fmt::format("NOK {:.2f} for {}", card.at("retail").at("price").get<double>(),
                                                planned.at("format").get<std::string>()));
    // No current prices: the writer's own comparable, marked as an estimate.
    CHECK(card.at("comparable").at("source") == "estimate");
  }
  // Stage 4 records the facts: each stated one as stated.
  const json facts = json::parse(env.read("fjord", "stages/04-contextualize.json")).at("brand_facts");
  CHECK(facts.at("currency") == "NOK");
  CHECK(facts.at("cold_chain") == false);
  CHECK(facts.at("price_position") == "value");
  CHECK(facts.at("inferred") == json::array({"no current prices: a card's price cannot be set beside the brand's own"}));
  // Stage 4 names the one fact it had to go without, and guesses none of the stated ones.
  const auto warnings = env.checkpoint("fjord").at("stages").at(3).value("warnings", json::array());
  CHECK(std::count(warnings.begin(), warnings.end(),
                   "brand profile: no current prices: a card's price cannot be set beside the brand's own") == 1);
  for (const auto& warning : warnings) CHECK(warning.get<std::string>().find("taken as") == std::string::npos);
}

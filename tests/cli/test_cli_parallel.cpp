#include <doctest/doctest.h>

#include <csignal>
#include <set>
#include <thread>

#include "tests/support/cli_env.hpp"
#include "tests/support/pdf_builder.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline::testing;
using nlohmann::json;

namespace {

// Waits until the run's stage 5 has saved `count` parts.
bool wait_for_parts(const CliEnv& env, const std::string& run_id, std::size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (env.checkpoint(run_id).at("stages").at(4).at("parts").size() >= count) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::vector<std::string> part_names(const json& stage) {
  std::vector<std::string> names;
  for (const auto& part : stage.at("parts")) names.push_back(part.at("name"));
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("stage 5 plans five distinct concepts, then writes one card and the other four in parallel") {
  FakeLlmServer server;
  server.set_pace({std::chrono::milliseconds(200), 0});
  CliEnv env(server);
  auto result = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "cards"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const auto counts = requests_per_schema(server);
  CHECK(counts.at("opportunities_plan") == 1);
  CHECK(counts.at("opportunity_card") == 5);
  // The four cards after the first were in flight together.
  CHECK(server.max_in_flight() >= 4);
  const auto stage = env.checkpoint("cards").at("stages").at(4);
  CHECK(part_names(stage) == std::vector<std::string>{"card-better-for-you", "card-convenience",
                                                       "card-format-migration", "card-occasion-expansion",
                                                       "card-premiumisation", "plan"});
  const auto cards = json::parse(env.read("cards", "opportunities.json")).at("opportunities");
  REQUIRE(cards.size() == 5);
  std::set<std::string> titles;
  std::set<std::string> patterns;
  for (const auto& card : cards) {
    titles.insert(card.at("title").get<std::string>());
    patterns.insert(card.at("pattern").get<std::string>());
  }
  CHECK(titles.size() == 5);
  CHECK(patterns.size() == 5);
}

TEST_CASE("cards finished before a kill are kept: the next invocation asks only for the missing card") {
  FakeLlmServer server;
  CliEnv env(server);
  env.disable_cache();
  // One card's answer never comes: the server keeps its stream open.
  ScriptedReply hang;
  hang.fault = FaultKind::stall_keepalive;
  hang.stall = std::chrono::seconds(10);
  hang.match = "pattern occasion_expansion, from";
  server.enqueue(hang);
  auto process = env.start({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "killed-cards"});
  REQUIRE(wait_for_parts(env, "killed-cards", 5));  // the plan and four cards
  process.send_signal(SIGKILL);
  process.wait();
  const auto cut = env.checkpoint("killed-cards").at("stages").at(4);
  CHECK(cut.at("status") == "running");
  CHECK(part_names(cut).size() == 5);

  const int before = server.request_count();
  auto resumed = env.run({"resume", "killed-cards"});
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  REQUIRE(server.request_count() == before + 1);
  const auto last = server.requests().back();
  CHECK(last.dump().find("pattern occasion_expansion, from") != std::string::npos);
  CHECK(json::parse(env.read("killed-cards", "opportunities.json")).at("opportunities").size() == 5);
}

TEST_CASE("a card that fails validation is asked for again alone") {
  FakeLlmServer server;
  CliEnv env(server);
  ScriptedReply broken;
  broken.fault = FaultKind::invalid_json;
  broken.match = "pattern convenience, from";
  server.enqueue(broken);
  auto result = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "reasked"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const auto counts = requests_per_schema(server);
  CHECK(counts.at("opportunities_plan") == 1);
  CHECK(counts.at("opportunity_card") == 6);
}

TEST_CASE("a 300-page PDF is read in chunks of pages, extracted in parallel and merged") {
  FakeLlmServer server;
  CliEnv env(server);
  std::vector<std::string> pages;
  for (int page = 1; page <= 300; ++page) {
    std::string text = "Page " + std::to_string(page) + " of the field report\n";
    for (int line = 0; line < 45; ++line) {
      text += "Shop " + std::to_string(page * 100 + line) +
              " sold refills of oats and rice from bulk bins, cutting packaging cost per unit.\n";
    }
    pages.push_back(text);
  }
  const std::string pdf = env.dir / "long-report.pdf";
  write_text_pdf(pdf, pages, PdfBuildOptions{"Long field report", "", ""});
  auto result = env.run({"run", pdf, "--brand", env.brand_path, "--run-id", "long", "--json"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const auto checkpoint = env.checkpoint("long");
  CHECK(checkpoint.at("input").at("pages") == 300);
  const auto counts = requests_per_schema(server);
  CHECK(counts.at("mechanisms") >= 3);
  CHECK(counts.at("mechanisms_merge") == 1);
  // No chunk request is longer than the input budget (1 token per 3 bytes, 100000 tokens).
  for (const auto& request : server.requests()) {
    if (request.value("/response_format/json_schema/name"_json_pointer, std::string()) != "mechanisms") continue;
    std::size_t bytes = 0;
    for (const auto& message : request.at("messages")) bytes += message.at("content").get<std::string>().size();
    CHECK(bytes <= 300000);
  }
  CHECK(server.max_in_flight() >= 2);
}

TEST_CASE("--max-cost stops before a call that could pass the cap, saves, exits 7; a higher cap goes on") {
  FakeLlmServer server;
  CliEnv env(server);
  env.disable_cache();
  // The fake server charges $1 and $2 per million tokens; the prices say the same.
  const std::vector<std::string> priced = {"--prices", "test-model=1,2"};
  auto refused = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--max-cost", "0.05"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("--prices") != std::string::npos);
  CHECK(env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--max-cost", "-1", "--prices",
                 "test-model=1,2"})
            .exit_code == 2);
  CHECK(server.request_count() == 0);

  auto capped = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "capped", "--max-cost",
                         "0.03", "--prices", "test-model=1,2"});
  INFO(capped.err);
  REQUIRE(capped.exit_code == 7);
  CHECK(capped.err.find("cost cap") != std::string::npos);
  CHECK(capped.err.find("pipeline resume capped --max-cost") != std::string::npos);
  const auto checkpoint = env.checkpoint("capped");
  CHECK(checkpoint.at("status") == "incomplete");
  CHECK(checkpoint.at("error").at("kind") == "cost_limit");
  CHECK(checkpoint.at("settings").at("max_cost_usd") == 0.03);
  auto status = env.run({"status", "capped", "--json", "--prices", "test-model=1,2"});
  REQUIRE(status.exit_code == 0);
  const double spent = json::parse(status.out).at("usage").at("cost_usd").get<double>();
  CHECK(spent > 0);
  CHECK(spent <= 0.03);
  CHECK(env.run({"status", "capped"}).out.find("cap") != std::string::npos);

  const int before = server.request_count();
  auto again = env.run({"resume", "capped", "--prices", "test-model=1,2"});
  CHECK(again.exit_code == 7);
  CHECK(server.request_count() == before);
  auto raised = env.run({"resume", "capped", "--max-cost", "1", "--prices", "test-model=1,2"});
  INFO(raised.err);
  REQUIRE(raised.exit_code == 0);
  CHECK(env.checkpoint("capped").at("settings").at("max_cost_usd") == 1.0);
}

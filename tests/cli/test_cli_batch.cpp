#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <set>

#include "tests/support/cli_env.hpp"
#include "tests/support/pdf_builder.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline::testing;
using nlohmann::json;

namespace {

// A second document, different from the example case study.
std::string write_second_pdf(const CliEnv& env) {
  const std::string path = env.dir / "second-case.pdf";
  write_text_pdf(path,
                 {"Refill stations in corner shops\nA chain of 40 corner shops put refill stations for oats and rice\n"
                  "next to the tills. Sales per square metre rose by a third in six months.",
                  "Why it worked\nShoppers bring their own jars; the shop saves on packaging and shelf space.\n"
                  "Regulars visit twice as often."},
                 PdfBuildOptions{"Refill stations", "", ""});
  return path;
}

json batch_status(const CliEnv& env, const std::string& batch_id) {
  auto status = env.run({"status", batch_id, "--json"});
  INFO(status.err);
  REQUIRE(status.exit_code == 0);
  return json::parse(status.out);
}

}  // namespace

TEST_CASE("a batch computes stages 1 to 3 once per document and 4 and 5 once per brand") {
  FakeLlmServer server;
  CliEnv env(server);
  const auto second_pdf = write_second_pdf(env);
  const auto other_brand = write_test_brand(env.dir.path(), "other-brand", "Othermark Foods");
  auto result = env.run({"batch", example_pdf_path(), second_pdf, "--brand", env.brand_path, "--brand", other_brand,
                         "--jobs", "4", "--batch-id", "two-by-two", "--max-concurrency", "3"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.out.find("4 of 4 runs completed") != std::string::npos);

  const auto counts = requests_per_schema(server);
  CHECK(counts.at("mechanisms") == 2);
  CHECK(counts.at("signals") == 2);
  CHECK(counts.at("lessons") == 2);
  CHECK(counts.at("contextualize") == 4);
  CHECK(counts.at("opportunities_plan") == 4);
  CHECK(counts.at("opportunity_card") == 20);
  CHECK(server.max_in_flight() <= 3);

  const auto status = batch_status(env, "two-by-two");
  REQUIRE(status.at("runs").size() == 4);
  CHECK(status.at("counts").at("completed") == 4);
  std::set<std::string> brands;
  int cached_stages = 0;
  for (const auto& run : status.at("runs")) {
    CHECK(run.at("status") == "completed");
    CHECK(run.at("stages_done") == 5);
    brands.insert(run.at("brand").get<std::string>());
    const auto run_id = run.at("run_id").get<std::string>();
    const auto checkpoint = env.checkpoint(run_id);
    for (const auto& stage : checkpoint.at("stages")) cached_stages += stage.at("cached") == true;
  }
  CHECK(brands.size() == 2);
  // Of the two runs of each document, one computed stages 1 to 3 and the other reused them.
  CHECK(cached_stages == 2 * 3);
  CHECK(status.at("usage").at("cost_usd").get<double>() > 0);

  auto table = env.run({"status", "two-by-two"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("4 completed") != std::string::npos);
  CHECK(table.out.find("other-brand") != std::string::npos);
  // The same batch id cannot be made twice.
  auto again = env.run({"batch", example_pdf_path(), "--brand", env.brand_path, "--batch-id", "two-by-two"});
  CHECK(again.exit_code == 3);
}

TEST_CASE("without the disk cache a batch still shares a document's stages in memory") {
  FakeLlmServer server;
  CliEnv env(server);
  const auto other_brand = write_test_brand(env.dir.path(), "other-brand", "Othermark Foods");
  auto result = env.run({"batch", example_pdf_path(), "--brand", env.brand_path, "--brand", other_brand, "--jobs",
                         "2", "--no-cache"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const auto counts = requests_per_schema(server);
  CHECK(counts.at("mechanisms") == 1);
  CHECK(counts.at("contextualize") == 2);
  CHECK_FALSE(std::filesystem::exists(env.dir / "cache"));
}

TEST_CASE("a batch cut off by its deadline exits 75 and resume <batch_id> finishes it without paying twice") {
  FakeLlmServer server;
  server.set_pace({std::chrono::milliseconds(300), 0});
  CliEnv env(server);
  const auto other_brand = write_test_brand(env.dir.path(), "other-brand", "Othermark Foods");
  auto cut = env.run({"batch", example_pdf_path(), "--brand", env.brand_path, "--brand", other_brand, "--batch-id",
                      "cut-short", "--deadline", "1.2s", "--json"});
  INFO(cut.err);
  REQUIRE(cut.exit_code == 75);
  CHECK(cut.err.find("pipeline resume cut-short") != std::string::npos);
  const auto finished = json::parse(split_lines(cut.out).back());
  CHECK(finished.at("event") == "batch_finished");
  CHECK(finished.at("completed") == 0);
  CHECK(batch_status(env, "cut-short").at("counts").contains("incomplete"));

  server.set_pace({});
  auto resumed = env.run({"resume", "cut-short"});
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK(batch_status(env, "cut-short").at("counts").at("completed") == 2);
  const auto counts = requests_per_schema(server);
  // Stages finished before the deadline are not asked again (a stage cut off
  // in flight would be, once).
  CHECK(counts.at("mechanisms") == 1);
  CHECK(counts.at("signals") == 1);
  CHECK(counts.at("lessons") <= 2);
  CHECK(counts.at("contextualize") >= 2);
  // Resuming a finished batch has nothing to do.
  const int before = server.request_count();
  CHECK(env.run({"resume", "cut-short"}).exit_code == 0);
  CHECK(server.request_count() == before);
}

TEST_CASE("--rpm holds the model requests of the whole batch to a budget per window") {
  FakeLlmServer server;
  CliEnv env(server);
  // A "minute" of 500 ms (plus the limiter's 250-ms margin) for the test.
  env.options.env["PIPELINE_RATE_WINDOW"] = "500ms";
  const auto start = std::chrono::steady_clock::now();
  auto result = env.run({"batch", example_pdf_path(), "--brand", env.brand_path, "--rpm", "4", "--jobs", "2"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // 10 requests, at most 4 per window: the last two wait for two windows to pass.
  REQUIRE(server.request_count() == 10);
  CHECK(seconds >= 2 * 0.75 * 0.95);
}

TEST_CASE("batch refuses bad input before making any run") {
  FakeLlmServer server;
  CliEnv env(server);
  auto unknown_brand = env.run({"batch", example_pdf_path(), "--brand", "no-such-brand"});
  CHECK(unknown_brand.exit_code == 3);
  auto missing_pdf = env.run({"batch", example_pdf_path(), env.dir / "missing.pdf", "--brand", env.brand_path});
  CHECK(missing_pdf.exit_code == 3);
  CHECK(missing_pdf.err.find("missing.pdf") != std::string::npos);
  CHECK(env.run({"batch", example_pdf_path(), "--brand", env.brand_path, "--jobs", "0"}).exit_code == 2);
  CHECK(server.request_count() == 0);
  CHECK((!std::filesystem::exists(env.runs_dir) || std::filesystem::is_empty(env.runs_dir)));
  CHECK(env.run({"status", "batch-none"}).exit_code == 3);
}

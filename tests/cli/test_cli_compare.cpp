#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "report/differentiation.hpp"
#include "stages/vocabulary.hpp"
#include "tests/support/cli_env.hpp"
#include "tests/support/pdf_builder.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline::testing;
using nlohmann::json;

namespace {

std::string shipped_brand(const std::string& id) {
  return std::string(PIPELINE_SOURCE_DIR) + "/examples/brands/" + id + ".json";
}

// A whole run of `pdf` for `brand`, offline against the fake server.
void compare_make_run(const CliEnv& env, const std::string& pdf, const std::string& brand, const std::string& run_id) {
  const auto result = env.run({"run", pdf, "--brand", brand, "--run-id", run_id});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
}

json compare_json(const CliEnv& env, const std::string& a, const std::string& b) {
  const auto result = env.run({"compare", a, b, "--json"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return json::parse(result.out);
}

std::string compare_second_pdf(const CliEnv& env) {
  const std::string path = env.dir / "corner-shops.pdf";
  write_text_pdf(path,
                 {"Refill stations in corner shops\nA chain of 40 corner shops put refill stations for oats and rice\n"
                  "next to the tills. Sales per square metre rose by a third in six months."},
                 PdfBuildOptions{"Refill stations", "", ""});
  return path;
}

std::string compare_slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string fmt_similarity(double similarity) {
  char text[16];
  std::snprintf(text, sizeof text, "%.2f", similarity);
  return text;
}

std::size_t compare_count(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++count;
  return count;
}

}  // namespace

TEST_CASE("compare: the same document for two brands, pattern by pattern, with grounding in each brand") {
  FakeLlmServer server;
  CliEnv env(server);
  compare_make_run(env, example_pdf_path(), shipped_brand("hollowmere-dairy"), "dairy");
  compare_make_run(env, example_pdf_path(), shipped_brand("marigold-mill"), "spice");

  const auto result = compare_json(env, "dairy", "spice");
  CHECK(result.at("run_a").at("run_id") == "dairy");
  CHECK(result.at("run_b").at("brand") == "marigold-mill");
  CHECK(result.at("same_document") == true);
  CHECK(result.at("same_run") == false);
  CHECK(result.at("notes").empty());
  CHECK(result.at("threshold") == pipeline::report::k_not_differentiated_at);
  const auto& pairs = result.at("pairs");
  REQUIRE(pairs.size() == 5);
  double sum = 0;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto& pair = pairs[i];
    CAPTURE(pair.dump());
    CHECK(pair.at("pattern") == pipeline::stages::vocabulary::patterns()[i]);
    // The fake's cards take half their words from the brand's own names
    // (tests/fake_server/schema_generator.cpp), so the measure must see two brands.
    CHECK(pair.at("similarity").get<double>() > 0.0);
    CHECK(pair.at("similarity").get<double>() < pipeline::report::k_not_differentiated_at);
    CHECK(pair.at("differentiated") == true);
    for (const char* side : {"grounding_a", "grounding_b"}) {
      const auto& grounding = pair.at(side);
      CHECK(grounding.at("terms").get<int>() > 10);
      CHECK(grounding.at("own_share").get<double>() > grounding.at("other_share").get<double>());
    }
    CHECK_FALSE(pair.at("title_a").get<std::string>().empty());
    sum += pair.at("similarity").get<double>();
  }
  CHECK(result.at("not_differentiated") == 0);
  CHECK(result.at("mean_similarity").get<double>() == doctest::Approx(sum / 5).epsilon(0.001));
  CHECK(result.at("score").get<double>() == doctest::Approx(1.0 - result.at("mean_similarity").get<double>()));

  const auto table = env.run({"compare", "dairy", "spice"});
  INFO(table.err);
  REQUIRE(table.exit_code == 0);
  for (const char* pattern : {"better-for-you", "premiumisation", "convenience", "format-migration",
                              "occasion-expansion"}) {
    CAPTURE(pattern);
    CHECK(table.out.find("  " + std::string(pattern) + " ") != std::string::npos);
  }
  CHECK(compare_count(table.out, "differentiated") == 6);  // five verdicts and the summary
  CHECK(table.out.find("0 of 5 pairs not differentiated") != std::string::npos);
  CHECK(table.out.find("note:") == std::string::npos);
}

TEST_CASE("compare: a run with itself has similarity 1 on every pattern and every pair is flagged") {
  FakeLlmServer server;
  CliEnv env(server);
  compare_make_run(env, example_pdf_path(), shipped_brand("hollowmere-dairy"), "dairy");
  const auto result = compare_json(env, "dairy", "dairy");
  CHECK(result.at("same_run") == true);
  for (const auto& pair : result.at("pairs")) {
    CHECK(pair.at("similarity") == 1.0);
    CHECK(pair.at("differentiated") == false);
  }
  CHECK(result.at("score") == 0.0);
  CHECK(result.at("not_differentiated") == 5);
  REQUIRE(result.at("notes").size() == 1);
  CHECK(result.at("notes")[0].get<std::string>().find("compared with itself") != std::string::npos);

  const auto table = env.run({"compare", "dairy", "dairy"});
  REQUIRE(table.exit_code == 0);
  CHECK(compare_count(table.out, "NOT DIFFERENTIATED") == 5);
  CHECK(table.out.find("differentiation 0.00") != std::string::npos);
  CHECK(table.out.find("note: run dairy is compared with itself") != std::string::npos);
}

TEST_CASE("compare: runs of different documents are compared, and the output says so") {
  FakeLlmServer server;
  CliEnv env(server);
  const auto second = compare_second_pdf(env);
  compare_make_run(env, example_pdf_path(), shipped_brand("hollowmere-dairy"), "dairy");
  compare_make_run(env, second, shipped_brand("marigold-mill"), "spice-corner");
  const auto result = compare_json(env, "dairy", "spice-corner");
  CHECK(result.at("same_document") == false);
  CHECK(result.at("run_b").at("document") == second);
  REQUIRE(result.at("notes").size() == 1);
  CHECK(result.at("notes")[0].get<std::string>().find("different documents") != std::string::npos);
  CHECK(result.at("pairs").size() == 5);

  const auto table = env.run({"compare", "dairy", "spice-corner"});
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("note: the runs are of different documents") != std::string::npos);
  CHECK(table.out.find("B " + second) != std::string::npos);
}

TEST_CASE("compare: a run without cards or an unknown run is exit 3 with one line") {
  FakeLlmServer server;
  CliEnv env(server);
  compare_make_run(env, example_pdf_path(), env.brand_path, "done");
  const auto created = env.run({"new", example_pdf_path(), "--brand", env.brand_path, "--run-id", "fresh"});
  REQUIRE(created.exit_code == 0);

  const auto fresh = env.run({"compare", "done", "fresh"});
  CHECK(fresh.exit_code == 3);
  CHECK(fresh.out.empty());
  CHECK(fresh.err.find("pipeline: error: run fresh has no cards to compare: stage 5 (opportunities) is pending") == 0);
  CHECK(compare_count(fresh.err, "\n") == 1);

  const auto unknown = env.run({"compare", "no-such-run", "done", "--json"});
  CHECK(unknown.exit_code == 3);
  CHECK(unknown.out.empty());
  CHECK(compare_count(unknown.err, "\n") == 1);
  CHECK(unknown.err.find("no-such-run") != std::string::npos);
}

TEST_CASE("compare --html: one self-contained page with the cards side by side, every text escaped") {
  FakeLlmServer server;
  CliEnv env(server);
  // A brand whose names hold markup: the fake's cards take them up as product lines.
  json brand = json::parse(compare_slurp(shipped_brand("hollowmere-dairy")));
  brand["id"] = "markup-dairy";
  brand.erase("research_file");
  brand["company_name"] = "Mark & <b>Co</b>";
  brand["portfolio"] = {"<script>alert(1)</script> skyr pots", "Butter </style><h1>big</h1>"};
  brand["recent_innovations"] = {"Oat & milk <img src=x onerror=alert(2)>"};
  const std::string brand_path = env.dir / "markup-dairy.json";
  std::ofstream(brand_path) << brand.dump(2);
  compare_make_run(env, example_pdf_path(), brand_path, "markup");
  compare_make_run(env, example_pdf_path(), shipped_brand("marigold-mill"), "spice");

  const std::string page_path = env.dir / "compare.html";
  const auto result = env.run({"compare", "markup", "spice", "--html", page_path, "--json"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const auto comparison = json::parse(result.out);
  const auto page = compare_slurp(page_path);
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(compare_count(page, "<style>") == 1);
  CHECK(compare_count(page, "</style>") == 1);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("<img") == std::string::npos);
  CHECK(page.find("<h1>big") == std::string::npos);
  // Whichever of the brand's marked-up lines the fake's cards extend, it shows escaped.
  CHECK((page.find("&lt;script&gt;") != std::string::npos || page.find("&lt;/style&gt;&lt;h1&gt;") != std::string::npos ||
         page.find("&lt;img src=x") != std::string::npos));
  CHECK(page.find("Mark &amp; &lt;b&gt;Co&lt;/b&gt;") != std::string::npos);
  // Nothing is fetched: no URL, no link, no external resource.
  CHECK(page.find("http:") == std::string::npos);
  CHECK(page.find("https:") == std::string::npos);
  CHECK(page.find("<link") == std::string::npos);
  CHECK(compare_count(page, "<section class=\"pattern\">") == 5);
  CHECK(compare_count(page, "<div class=\"card\">") == 10);
  // One <main> landmark, headings that step h1, h2, h3 only, the score labelled, and the report's CSP.
  CHECK(compare_count(page, "<main>") == 1);
  CHECK(page.find("<main>") < page.find("<h1>"));
  CHECK(compare_count(page, "<h2 class=\"pattern-title\">") == 5);
  CHECK(page.find("<h2") < page.find("<h3"));
  CHECK(page.find("Overall differentiation") != std::string::npos);
  CHECK(page.find("Content-Security-Policy") != std::string::npos);
  // The document by its file name, not the folders of this machine.
  CHECK(page.find("Document: example-case-study.pdf") != std::string::npos);
  CHECK(page.find(example_pdf_path()) == std::string::npos);
  for (const auto& pair : comparison.at("pairs")) {
    CHECK(page.find(pair.at("title_a").get<std::string>()) != std::string::npos);
    CHECK(page.find(pair.at("title_b").get<std::string>()) != std::string::npos);
    CHECK(page.find(fmt_similarity(pair.at("similarity").get<double>())) != std::string::npos);
  }
  CHECK(page.find("Better-for-you") != std::string::npos);
}

TEST_CASE("status <batch_id> shows, per document, the differentiation of every pair of brands") {
  FakeLlmServer server;
  CliEnv env(server);
  const auto second = compare_second_pdf(env);
  const auto run = env.run({"batch", example_pdf_path(), second, "--brand", shipped_brand("hollowmere-dairy"),
                            "--brand", shipped_brand("marigold-mill"), "--brand", shipped_brand("larchline-outdoor"),
                            "--batch-id", "three-brands"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);

  const auto status = env.run({"status", "three-brands", "--json"});
  INFO(status.err);
  REQUIRE(status.exit_code == 0);
  const auto documents = json::parse(status.out).at("differentiation");
  REQUIRE(documents.size() == 2);
  CHECK(documents[0].at("input") == example_pdf_path());
  CHECK(documents[1].at("input") == second);
  for (const auto& document : documents) {
    const auto& pairs = document.at("pairs");
    REQUIRE(pairs.size() == 3);
    CHECK(pairs[0].at("brand_a") == "hollowmere-dairy");
    CHECK(pairs[0].at("brand_b") == "marigold-mill");
    CHECK(pairs[1].at("brand_b") == "larchline-outdoor");
    CHECK(pairs[2].at("brand_a") == "marigold-mill");
    for (const auto& pair : pairs) {
      CAPTURE(pair.dump());
      CHECK_FALSE(pair.contains("missing"));
      CHECK(pair.at("similarity").size() == 5);
      CHECK(pair.at("score").get<double>() > 0.0);
      CHECK(pair.at("score").get<double>() <= 1.0);
      // The same figures as `pipeline compare` gives for the two runs.
      const auto compared = compare_json(env, pair.at("run_a"), pair.at("run_b"));
      CHECK(pair.at("score") == compared.at("score"));
      CHECK(pair.at("not_differentiated") == compared.at("not_differentiated"));
    }
  }

  const auto table = env.run({"status", "three-brands"});
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("differentiation per document") != std::string::npos);
  CHECK(compare_count(table.out, "hollowmere-dairy vs marigold-mill") == 2);
  CHECK(compare_count(table.out, "marigold-mill vs larchline-outdoor") == 2);
  CHECK(table.out.find("0 of 5 not differentiated") != std::string::npos);
}

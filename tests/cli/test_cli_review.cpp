#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "review/card_review.hpp"
#include "stages/vocabulary.hpp"
#include "tests/support/cli_env.hpp"
#include "tests/support/pdf_builder.hpp"

using namespace pipeline::testing;
using nlohmann::json;

namespace {

// The models the server was asked with for requests of schema `name`.
std::vector<std::string> review_models_asked(const FakeLlmServer& server, const std::string& name) {
  std::vector<std::string> models;
  for (const auto& body : server.requests()) {
    const auto& format = body.value("response_format", json::object());
    if (format.value("json_schema", json::object()).value("name", "") == name) models.push_back(body.value("model", ""));
  }
  return models;
}

bool review_file_recorded(const json& checkpoint) {
  for (const auto& file : checkpoint.at("files")) {
    if (file.at("path") == pipeline::review::k_review_path) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("run --review: one review request per card with --review-model, kept in the run, shown by report and compare") {
  FakeLlmServer server;
  server.set_models({"test-model", "judge-small"});
  CliEnv env(server);
  const auto result = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "reviewed", "--review",
                               "--review-model", "judge-small"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(requests_per_schema(server)["review"] == 5);
  CHECK(review_models_asked(server, "review") == std::vector<std::string>(5, "judge-small"));
  CHECK(result.out.find("review by judge-small") != std::string::npos);

  const auto review = json::parse(env.read("reviewed", "review.json"));
  CHECK(review.at("model") == "judge-small");
  CHECK(review.at("usage").at("prompt_tokens").get<int>() > 0);
  for (const auto& pattern : pipeline::stages::vocabulary::patterns()) {
    CAPTURE(pattern);
    const auto& card = review.at("cards").at(pattern);
    CHECK(card.at("usage").at("completion_tokens").get<int>() > 0);
    for (const auto& criterion : pipeline::review::criteria()) {
      const int score = card.at(criterion).at("score").get<int>();
      CHECK(score >= 1);
      CHECK(score <= 5);
    }
  }
  CHECK(review_file_recorded(env.checkpoint("reviewed")));
  CHECK(env.read("reviewed", "report.html").find("Second opinion (judge-small)") != std::string::npos);
  CHECK(env.read("reviewed", "report.md").find("## Second opinion on the cards") != std::string::npos);
  const auto rendered = env.run({"report", "reviewed", "--format", "md"});
  CHECK(rendered.exit_code == 0);
  CHECK(rendered.out.find("## Second opinion on the cards") != std::string::npos);

  const auto compared = env.run({"compare", "reviewed", "reviewed", "--json"});
  REQUIRE(compared.exit_code == 0);
  for (const auto& pair : json::parse(compared.out).at("pairs")) {
    CHECK(pair.at("review_a").at("novelty").is_number_integer());
    CHECK(pair.at("review_b") == pair.at("review_a"));
  }
  const auto text = env.run({"compare", "reviewed", "reviewed"});
  CHECK(text.out.find("A review: novelty ") != std::string::npos);
}

TEST_CASE("review: a run without cards is refused with one line and exit 3, before any model call") {
  FakeLlmServer server;
  CliEnv env(server);
  REQUIRE(env.run({"new", example_pdf_path(), "--brand", env.brand_path, "--run-id", "bare"}).exit_code == 0);
  const auto result = env.run({"review", "bare"});
  CHECK(result.exit_code == 3);
  CHECK(result.err.rfind("pipeline: error: run bare has no cards to review: stage 5 (opportunities) is pending", 0) == 0);
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  CHECK(server.requests().empty());
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(env.runs_dir) / "bare" / "review.json"));

  const auto missing = env.run({"review", "no-such-run"});
  CHECK(missing.exit_code == 3);
  const auto batch = env.run({"resume", "bare", "--review-model", "x"});
  CHECK(batch.exit_code == 2);  // --review-model needs --review
}

TEST_CASE("review of a finished run with the run's model, as one --json line") {
  FakeLlmServer server;
  CliEnv env(server);
  REQUIRE(env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "later"}).exit_code == 0);
  CHECK(requests_per_schema(server)["review"] == 0);
  CHECK(env.read("later", "report.html").find("Second opinion") == std::string::npos);

  const auto result = env.run({"review", "later", "--json"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const auto line = json::parse(result.out);
  CHECK(line.at("event") == "review_done");
  CHECK(line.at("review").at("model") == "test-model");
  CHECK(review_models_asked(server, "review") == std::vector<std::string>(5, "test-model"));
  CHECK(env.read("later", "report.html").find("Second opinion (test-model)") != std::string::npos);
  CHECK(env.run({"status", "later"}).exit_code == 0);  // the checkpoint still loads and verifies
}

#include <doctest/doctest.h>

#include "report/report.hpp"
#include "stages/stage.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;

TEST_CASE("the report holds every stage's Markdown and the five cards, in order") {
  std::map<int, nlohmann::json> outputs;
  for (int number = 1; number <= 5; ++number) outputs[number] = testing::sample_output(number);
  const std::string report = report::render_report("bakery-acme-1", outputs);
  CHECK(report.rfind("# Innovation report: bakery-acme-1\n", 0) == 0);
  size_t previous = 0;
  for (const char* heading : {"## 1. Input processing: mechanisms", "## 2. Signal amplification: innovation anatomy",
                              "## 3. General translation: universal lessons", "## 4. Brand contextualisation",
                              "## 5. Opportunity generation"}) {
    const auto at = report.find(std::string("\n") + heading + "\n");
    CHECK_MESSAGE(at != std::string::npos, heading);
    CHECK(at > previous);
    previous = at;
  }
  for (const char* card : {"### Card 1: Acme Clean Rolls baked to order", "### Card 2: Acme 48-hour sourdough rolls",
                           "### Card 3: Morning Rolls from the station locker", "### Card 4: Acme Protein Bars breakfast pack",
                           "### Card 5: Acme office breakfast, every Monday"}) {
    CHECK_MESSAGE(report.find(card) != std::string::npos, card);
  }
  CHECK(report.find("Collect without queuing") != std::string::npos);
  CHECK(report.find("Not done yet") == std::string::npos);
  CHECK(report.back() == '\n');
}

TEST_CASE("a report of an unfinished run says which stages are not done") {
  std::map<int, nlohmann::json> outputs = {{1, testing::sample_output(1)}};
  const std::string report = report::render_report("partial", outputs);
  CHECK(report.find("Collect without queuing") != std::string::npos);
  CHECK(report.find("## 5. Opportunity generation\n\n*Not done yet.*") != std::string::npos);
}

TEST_CASE("a review adds a last section with each card's scores and reasons") {
  std::map<int, nlohmann::json> outputs;
  for (int number = 1; number <= 5; ++number) outputs[number] = testing::sample_output(number);
  nlohmann::json review = {{"model", "judge-mini"},
                           {"cards",
                            {{"convenience",
                              {{"title", "Morning Rolls from the station locker"},
                               {"novelty", {{"score", 2}, {"reason", "Lockers exist"}}},
                               {"actionability", {{"score", 5}, {"reason", "Dated steps"}}},
                               {"brand_fit", {{"score", 4}, {"reason", "Uses the bakery"}}},
                               {"specificity", {{"score", 3}, {"reason", "Pack size missing"}}}}}}}};
  const std::string report = report::render_report("bakery-acme-1", outputs, {}, review);
  const auto section = report.find("\n## Second opinion on the cards\n");
  REQUIRE(section != std::string::npos);
  CHECK(section > report.find("### Card 5:"));
  CHECK(report.find("by judge-mini", section) != std::string::npos);
  CHECK(report.find("### Convenience: Morning Rolls from the station locker", section) != std::string::npos);
  CHECK(report.find("| brand fit | 4 | Uses the bakery |", section) != std::string::npos);
  CHECK(report.find("Premiumisation:", section) == std::string::npos);
  CHECK(report::render_report("bakery-acme-1", outputs).find("Second opinion") == std::string::npos);
}

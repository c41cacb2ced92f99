#include <doctest/doctest.h>

#include <cmath>

#include "report/differentiation.hpp"
#include "stages/vocabulary.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline::stages;
using namespace pipeline::report;
using nlohmann::json;

namespace {

// A card with the free-text fields the measure reads and the closed ones it must skip.
json differentiation_card(const std::string& pattern, const std::string& title, const std::string& what,
                          const std::string& product_line) {
  return {{"title", title},
          {"pattern", pattern},
          {"mechanism_id", "M1"},
          {"brand_anchor", {{"product_line", product_line}, {"customer_segment", "Families"}}},
          {"description", {{"what", what}, {"who", "Parents"}, {"how_why_now", "Refill counters"}}},
          {"feasibility", {{"storage", "chilled"}, {"channel", "store_retail"}, {"price_tier", "premium"}}},
          {"retail", {{"price", 3.49}, {"currency", "GBP"}, {"months_to_launch", 9}}}};
}

// Five cards, one per pattern, whose texts differ by pattern and carry `flavour`.
json differentiation_cards(const std::string& flavour, const std::string& product_line) {
  json cards = json::object();
  int n = 0;
  for (const auto& pattern : vocabulary::patterns()) {
    const std::string nth = "variant" + std::string(1, static_cast<char>('a' + n++));
    cards[pattern] = differentiation_card(pattern, flavour + " " + nth, flavour + " pots in a " + nth + " sleeve",
                                          product_line);
  }
  return cards;
}

RunCards differentiation_side(const std::string& run_id, const std::string& brand, json cards, json profile,
                              const std::string& document = "doc.pdf") {
  RunCards side;
  side.run_id = run_id;
  side.brand_id = brand;
  side.company_name = brand + " Ltd";
  side.brand_sha256 = "sha-" + brand;
  side.document = document;
  side.document_sha256 = "sha-" + document;
  side.cards = std::move(cards);
  side.profile = std::move(profile);
  return side;
}

}  // namespace

TEST_CASE("grounding counts the card's words found in one profile only") {
  const auto own = profile_vocabulary({{"id", "hollowmere-dairy"},
                                       {"company_name", "Hollowmere Dairy"},
                                       {"portfolio", {"Skyr", "Whole milk"}}});
  const auto other = profile_vocabulary({{"id", "larchline-outdoor"},
                                         {"company_name", "Larchline Outdoor"},
                                         {"portfolio", {"Oat trail bars", "Milk chocolate"}}});
  CHECK(own == std::set<std::string>{"hollowmere", "dairy", "skyr", "whole", "milk"});
  // Five distinct words: hollowmere and skyr only in its own profile, milk in
  // both (counts for neither), oat only in the other's, lunchbox in neither.
  const auto card = term_counts("Hollowmere skyr for the lunchbox, with milk and oats; skyr again");
  const auto result = grounding(card, own, other);
  CHECK(result.terms == 5);
  CHECK(result.own == 2);
  CHECK(result.other == 1);
  CHECK(result.own_share() == doctest::Approx(0.4));
  CHECK(result.other_share() == doctest::Approx(0.2));
  CHECK(grounding({}, own, other).own_share() == 0.0);
}

TEST_CASE("card_text reads the writer's strings and skips the closed vocabularies and figures") {
  const auto card = differentiation_card("convenience", "Skyr lunch pots", "Four pots", "Skyr");
  const auto text = card_text(card, "convenience");
  CHECK(text.find("Skyr lunch pots") != std::string::npos);
  CHECK(text.find("Four pots") != std::string::npos);
  CHECK(text.find("GBP") != std::string::npos);
  for (const char* closed : {"convenience", "chilled", "store_retail", "premium", "M1", "3.49"}) {
    CAPTURE(closed);
    CHECK(text.find(closed) == std::string::npos);
  }
}

TEST_CASE("differentiate: a run with itself is identical and flagged on every pattern") {
  const json profile = {{"id", "a"}, {"company_name", "Hollowmere Dairy"}};
  const auto side = differentiation_side("run-a", "a", differentiation_cards("skyr", "Skyr"), profile);
  const auto result = differentiate(side, side);
  REQUIRE(result.pairs.size() == 5);
  for (const auto& pair : result.pairs) {
    CAPTURE(pair.pattern);
    CHECK(pair.similarity == 1.0);
    CHECK_FALSE(pair.differentiated());
  }
  CHECK(result.score() == 0.0);
  CHECK(result.not_differentiated() == 5);
  REQUIRE(result.notes().size() == 1);
  CHECK(result.notes()[0].find("compared with itself") != std::string::npos);
  const auto json = to_json(result);
  CHECK(json.at("same_run") == true);
  CHECK(json.at("pairs").at(0).at("similarity") == 1.0);
  CHECK(json.at("pairs").at(0).at("title_a") == "skyr varianta");
}

TEST_CASE("differentiate: two brands' cards, scores and grounding per pattern") {
  const json dairy = {{"id", "dairy"}, {"company_name", "Hollowmere Dairy"}, {"portfolio", {"Skyr"}}};
  const json spice = {{"id", "spice"}, {"company_name", "Marigold Mill"}, {"portfolio", {"Turmeric"}}};
  const auto a = differentiation_side("run-a", "dairy", differentiation_cards("skyr", "Skyr"), dairy);
  const auto b = differentiation_side("run-b", "spice", differentiation_cards("turmeric", "Turmeric"), spice,
                                      "other.pdf");
  const auto result = differentiate(a, b);
  REQUIRE(result.pairs.size() == 5);
  for (const auto& pair : result.pairs) {
    CAPTURE(pair.pattern);
    // The cards share their pattern's variant word and the fixed fields, not their flavour.
    CHECK(pair.similarity > 0.0);
    CHECK(pair.similarity < 1.0);
    CHECK(pair.grounding_a.own == 1);  // skyr
    CHECK(pair.grounding_a.other == 0);
    CHECK(pair.grounding_b.own == 1);  // turmeric
  }
  CHECK(result.score() == doctest::Approx(1.0 - result.mean_similarity()));
  CHECK(result.notes().size() == 1);
  CHECK(result.notes()[0].find("different documents (doc.pdf and other.pdf)") != std::string::npos);
  const auto summary = summary_json(result);
  CHECK(summary.at("similarity").size() == 5);
  CHECK(summary.at("not_differentiated") == result.not_differentiated());
}

TEST_CASE("the threshold: a card that only swaps brand names is flagged, two cards of one mechanism are not") {
  // Hand-written cards on the example's refill mechanism, as a model might write them.
  const std::string dairy =
      "Hollowmere skyr refill jar. A 500 g glass jar of Hollowmere skyr that shoppers bring back to the chilled "
      "refill counter in Co-op stores, filled by weight. For families in the North of England who buy skyr every "
      "week and dislike plastic tubs, at GBP 2.10 a refill. The refill counter removes the pack cost, and plastic "
      "taxes make tubs dearer now.";
  const std::string swapped =
      "Marigold turmeric refill jar. A 500 g glass jar of Marigold turmeric that shoppers bring back to the "
      "refill counter in Kroger stores, filled by weight. For families in the Midwest who buy turmeric every "
      "week and dislike plastic tubs, at USD 2.10 a refill. The refill counter removes the pack cost, and plastic "
      "taxes make tubs dearer now.";
  const std::string spice =
      "Marigold blend sampler for creators. Six 10 g sachets of single-origin blends, berbere to za'atar, sold "
      "beside the recipe videos of three food creators, USD 5.99 online. For under-35 cooks who will not buy a "
      "full jar to try a cuisine. Sachets cut the cost of trying, and lot test results behind a QR code answer "
      "the heavy-metal worry.";
  const auto a = term_counts(dairy);
  const auto b = term_counts(swapped);
  const auto c = term_counts(spice);
  CHECK(tfidf_cosine(a, b, {a, b}) >= k_not_differentiated_at);
  CHECK(tfidf_cosine(a, c, {a, c}) < k_not_differentiated_at);
}

TEST_CASE("load_run_cards refuses a run whose stage 5 is not done") {
  pipeline::testing::RunFixture fixture;
  const auto loaded = load_run_cards(*fixture.store, fixture.state());
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().kind == pipeline::util::ErrorKind::bad_input);
  CHECK(loaded.error().message == "run fixture-run has no cards to compare: stage 5 (opportunities) is pending, not done");
}

TEST_CASE("batch_differentiation pairs every two runs of a document, and says why a pair has no figures") {
  pipeline::testing::RunFixture fixture;
  const auto other = pipeline::testing::write_test_brand(fixture.dir.path(), "other-dairy", "Othermark Dairy");
  fixture.add_run("other-run", other);
  pipeline::checkpoints::BatchManifest manifest;
  manifest.batch_id = "b";
  manifest.inputs = {"doc.pdf", "lonely.pdf"};
  manifest.brands = {"test-dairy", "other-dairy"};
  manifest.runs = {{"fixture-run", "doc.pdf", "test-dairy"}, {"other-run", "doc.pdf", "other-dairy"},
                   {"missing-run", "lonely.pdf", "test-dairy"}};
  const auto documents = batch_differentiation(*fixture.store, manifest);
  REQUIRE(documents.size() == 2);
  REQUIRE(documents[0].pairs.size() == 1);
  const auto& pair = documents[0].pairs[0];
  CHECK(pair.brand_a == "test-dairy");
  CHECK(pair.brand_b == "other-dairy");
  CHECK_FALSE(pair.result);
  CHECK(pair.missing.find("run fixture-run has no cards to compare") == 0);
  CHECK(documents[1].pairs.empty());
  const auto json = to_json(documents);
  CHECK(json.at(0).at("pairs").at(0).at("missing") == pair.missing);
  CHECK(json.at(1).at("pairs").empty());
}

TEST_CASE("compare shows each side's review scores, and null for a run without a review") {
  auto a = differentiation_side("run-a", "alpha", differentiation_cards("oat", "Oat pots"), json::object());
  auto b = differentiation_side("run-b", "beta", differentiation_cards("rye", "Rye loaves"), json::object());
  a.review = {{"model", "judge"},
              {"cards",
               {{"convenience",
                 {{"novelty", {{"score", 2}, {"reason", "r"}}},
                  {"actionability", {{"score", 5}, {"reason", "r"}}},
                  {"brand_fit", {{"score", 4}, {"reason", "r"}}},
                  {"specificity", {{"score", 3}, {"reason", "r"}}}}}}}};
  CHECK(review_scores(a, "convenience") ==
        json({{"novelty", 2}, {"actionability", 5}, {"brand_fit", 4}, {"specificity", 3}}));
  CHECK(review_scores(a, "premiumisation").is_null());
  CHECK(review_scores(b, "convenience").is_null());
  const auto compared = to_json(differentiate(a, b));
  int shown = 0;
  for (const auto& pair : compared.at("pairs")) {
    CHECK(pair.at("review_b").is_null());
    if (pair.at("pattern") == "convenience") {
      CHECK(pair.at("review_a").at("actionability") == 5);
      ++shown;
    } else {
      CHECK(pair.at("review_a").is_null());
    }
  }
  CHECK(shown == 1);
}

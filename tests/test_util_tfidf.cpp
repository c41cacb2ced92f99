#include <doctest/doctest.h>

#include <cmath>

#include "lib/util/tfidf.hpp"

using namespace pipeline::util;

TEST_CASE("tfidf_cosine: identical texts give exactly 1, texts without a common word exactly 0") {
  const auto a = term_counts("Oat milk skyr pots for the school lunchbox, sold in 4-packs");
  const auto b = term_counts("Trail jacket with sealed seams for wet Canadian hikes");
  const std::vector<TermCounts> collection = {a, a, b};
  CHECK(tfidf_cosine(a, a, collection) == 1.0);
  CHECK(tfidf_cosine(a, b, collection) == 0.0);
  CHECK(tfidf_cosine({}, {}, collection) == 1.0);
  CHECK(tfidf_cosine(a, {}, collection) == 0.0);
}

TEST_CASE("tfidf_cosine ignores stop words, case, plurals and figures") {
  const auto a = term_counts("The oat bars for the families, at 2.49 each");
  const auto b = term_counts("oat bar family");
  CHECK(a == b);
  CHECK(tfidf_cosine(a, b, {a, b}) == 1.0);
}

TEST_CASE("tfidf_cosine on a pair worked by hand") {
  // a = {oat, bar}, b = {oat, milk}, IDF over the two: oat is in both
  // (ln(3/3) + 1 = 1), bar and milk in one each (ln(3/2) + 1).
  const auto a = term_counts("oat bar");
  const auto b = term_counts("oats and milk");
  CHECK(inverse_document_frequency(2, 2) == 1.0);
  const double rare = std::log(1.5) + 1.0;
  CHECK(inverse_document_frequency(1, 2) == doctest::Approx(rare));
  // cos = (1 x 1) / (|a| |b|) with |a|^2 = |b|^2 = 1 + rare^2.
  CHECK(tfidf_cosine(a, b, {a, b}) == doctest::Approx(1.0 / (1.0 + rare * rare)));
  // A word repeated weighs by its count: a' = {oat: 2, bar: 1}.
  const auto twice = term_counts("oat oat bar");
  CHECK(tfidf_cosine(twice, b, {twice, b}) ==
        doctest::Approx(2.0 / (std::sqrt(4.0 + rare * rare) * std::sqrt(1.0 + rare * rare))));
}

TEST_CASE("similar_pairs: the pairs at or above the threshold, earlier first, IDF over the whole list") {
  const std::vector<std::string> texts = {"oat bar", "oats and milk", "", "Trail jacket", "oat bars"};
  const auto pairs = similar_pairs(texts, 0.5);
  REQUIRE(pairs.size() == 1);
  CHECK(pairs[0].first == 0);
  CHECK(pairs[0].second == 4);
  CHECK(pairs[0].similarity == 1.0);
  // Lower the threshold to the hand-worked value and "oat bar" / "oats and milk" joins, computed over all five texts.
  const auto counts = std::vector<TermCounts>{term_counts(texts[0]), term_counts(texts[1]), term_counts(texts[2]),
                                              term_counts(texts[3]), term_counts(texts[4])};
  const double ab = tfidf_cosine(counts[0], counts[1], counts);
  const auto more = similar_pairs(texts, ab);
  CHECK(more.size() == 3);  // 0-1, 0-4, 1-4
  // A text without content words is alike to none, not even to another such text.
  CHECK(similar_pairs({"", "the and of", "12 34"}, 0.0).empty());
}

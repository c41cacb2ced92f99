#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

// How alike two texts are by the words they use, measured without a model so
// that anyone can check the figure: cosine similarity of TF-IDF vectors of
// their content words (content_words.hpp). `compare` uses it between two
// runs' cards (report/differentiation.hpp), stage 5 between the parts of one
// run (stages/card_distinctness.hpp).
namespace pipeline::util {

// A text as the measure reads it: content word -> occurrences.
using TermCounts = std::map<std::string, int>;

TermCounts term_counts(std::string_view text);

// Inverse document frequency of a word found in `df` of `n` texts:
// ln((1 + n) / (1 + df)) + 1 (smoothed, so that a word every text has still
// weighs 1 and no vector is empty because its words are common).
double inverse_document_frequency(std::size_t df, std::size_t n);

// Cosine of the TF-IDF vectors of `a` and `b` (weight: occurrences x IDF),
// with the IDF counted over `collection`, which should hold `a` and `b`.
// Identical counts give exactly 1, texts without a common word exactly 0;
// two texts without content words are identical (1), one of them alone 0.
double tfidf_cosine(const TermCounts& a, const TermCounts& b, const std::vector<TermCounts>& collection);

// Two texts of a list and their similarity.
struct SimilarPair {
  std::size_t first = 0;   // index of the earlier text
  std::size_t second = 0;  // index of the later one
  double similarity = 0;
};

// Every pair of `texts` whose tfidf_cosine, with the IDF counted over all of
// `texts`, is `threshold` or more, earlier text first, in order. A text
// without content words is alike to none.
std::vector<SimilarPair> similar_pairs(const std::vector<std::string>& texts, double threshold);

}  // namespace pipeline::util

#include "lib/util/tfidf.hpp"

#include <algorithm>
#include <cmath>

#include "lib/util/content_words.hpp"

namespace pipeline::util {

TermCounts term_counts(std::string_view text) {
  TermCounts counts;
  for (auto& word : content_words(text)) counts[std::move(word)] += 1;
  return counts;
}

double inverse_document_frequency(std::size_t df, std::size_t n) {
  return std::log((1.0 + static_cast<double>(n)) / (1.0 + static_cast<double>(df))) + 1.0;
}

double tfidf_cosine(const TermCounts& a, const TermCounts& b, const std::vector<TermCounts>& collection) {
  if (a.empty() || b.empty()) return a.empty() && b.empty() ? 1.0 : 0.0;
  const auto weight = [&](const std::string& term, int count) {
    std::size_t df = 0;
    for (const auto& text : collection) df += text.count(term);
    return count * inverse_document_frequency(df, collection.size());
  };
  // Both norms and the dot product are summed in the same (sorted) order, so
  // that identical counts give a dot product equal to each squared norm.
  double dot = 0, norm_a = 0, norm_b = 0;
  auto ia = a.begin();
  auto ib = b.begin();
  while (ia != a.end() || ib != b.end()) {
    if (ib == b.end() || (ia != a.end() && ia->first < ib->first)) {
      const double wa = weight(ia->first, ia->second);
      norm_a += wa * wa;
      ++ia;
    } else if (ia == a.end() || ib->first < ia->first) {
      const double wb = weight(ib->first, ib->second);
      norm_b += wb * wb;
      ++ib;
    } else {
      const double wa = weight(ia->first, ia->second);
      const double wb = weight(ib->first, ib->second);
      dot += wa * wb;
      norm_a += wa * wa;
      norm_b += wb * wb;
      ++ia;
      ++ib;
    }
  }
  // sqrt(x * x) is x in IEEE arithmetic, so identical vectors give exactly 1.
  return std::clamp(dot / std::sqrt(norm_a * norm_b), 0.0, 1.0);
}

std::vector<SimilarPair> similar_pairs(const std::vector<std::string>& texts, double threshold) {
  std::vector<TermCounts> counts;
  counts.reserve(texts.size());
  for (const auto& text : texts) counts.push_back(term_counts(text));
  std::vector<SimilarPair> pairs;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i].empty()) continue;
    for (std::size_t j = i + 1; j < counts.size(); ++j) {
      if (counts[j].empty()) continue;
      const double similarity = tfidf_cosine(counts[i], counts[j], counts);
      if (similarity >= threshold) pairs.push_back({i, j, similarity});
    }
  }
  return pairs;
}

}  // namespace pipeline::util

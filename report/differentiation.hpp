#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoints/batch_manifest.hpp"
#include "checkpoints/run_state.hpp"
#include "checkpoints/run_store.hpp"
#include "lib/util/expected.hpp"
#include "lib/util/tfidf.hpp"

// How different two runs' cards are, pattern by pattern, measured without a
// model so that anyone can check the figures: cosine similarity of TF-IDF
// vectors of the cards' content words (lib/util/tfidf.hpp), and how
// much of each card's vocabulary comes from its own brand's profile rather
// than from the other brand's. The README's "Brand differentiation" section
// documents the measure and its threshold.
namespace pipeline::report {

// Two cards of a pattern whose similarity is at or above this are flagged
// "not differentiated" (README: why 0.5).
inline constexpr double k_not_differentiated_at = 0.5;

// The measure itself lives in lib/util/tfidf.hpp, which stage 5 uses too
// inside a run; these names keep to it.
using util::TermCounts;
using util::term_counts;
using util::inverse_document_frequency;
using util::tfidf_cosine;

// The words of a card that its writer chose: every string of the card
// except those the card schema of stage 5 fixes to a closed list
// (enumerations and constants: pattern, mechanism id, storage, channel,
// price tier, consumer education), one per line, in key order. Numbers
// (the retail figures) are no words and are left out.
std::string card_text(const nlohmann::json& card, const std::string& pattern);

// The distinct content words of a brand profile as a run snapshots it:
// every string in it (research notes included) but its id.
std::set<std::string> profile_vocabulary(const nlohmann::json& profile);

// Where a card's vocabulary comes from: of its distinct content words, how
// many are in its own brand's profile and not in the other brand's, and how
// many in the other brand's and not in its own. Words both profiles have,
// or neither, count for neither side.
struct Grounding {
  int terms = 0;
  int own = 0;
  int other = 0;
  double own_share() const { return terms == 0 ? 0.0 : static_cast<double>(own) / terms; }
  double other_share() const { return terms == 0 ? 0.0 : static_cast<double>(other) / terms; }
};

Grounding grounding(const TermCounts& card, const std::set<std::string>& own_profile,
                    const std::set<std::string>& other_profile);

// The two cards of one pattern compared.
struct CardPair {
  std::string pattern;
  double similarity = 0;
  Grounding grounding_a;  // run A's card against A's profile (own) and B's (other)
  Grounding grounding_b;  // run B's card against B's profile (own) and A's (other)
  bool differentiated() const { return similarity < k_not_differentiated_at; }
};

// One side of a comparison: a run with its stage-5 cards and brand snapshot.
struct RunCards {
  std::string run_id;
  std::string brand_id;
  std::string company_name;
  std::string brand_sha256;
  std::string document;  // the input as given
  std::string document_sha256;
  nlohmann::json cards;    // stage 5's output: an object with one card per pattern
  nlohmann::json profile;  // input/brand.json
  nlohmann::json review;   // the run's current review (review/card_review.hpp), or null without one
};

// The review scores of `side`'s card of `pattern`, {criterion: score}; null
// when the run has no review.
nlohmann::json review_scores(const RunCards& side, const std::string& pattern);

// A run's cards, brand and review from `store`. A run whose stage 5 is not done is
// bad_input, naming the run and the stage's state.
util::Expected<RunCards> load_run_cards(const checkpoints::RunStore& store, const checkpoints::RunState& state);

// Two runs' cards compared pattern by pattern.
struct Differentiation {
  RunCards a;
  RunCards b;
  std::vector<CardPair> pairs;  // the five patterns in card order

  double mean_similarity() const;
  // The overall score: 1 - the mean similarity of the five pairs; 0 for a
  // run compared with itself.
  double score() const { return 1.0 - mean_similarity(); }
  int not_differentiated() const;
  bool same_run() const { return a.run_id == b.run_id; }
  bool same_document() const { return a.document_sha256 == b.document_sha256; }
  bool same_brand() const { return a.brand_sha256 == b.brand_sha256; }
  // What a reader must know to read the figures: a run compared with itself,
  // one brand on both sides, or two different documents.
  std::vector<std::string> notes() const;
};

// The five pairs of `a`'s and `b`'s cards, with the IDF counted over the ten
// cards of the two runs.
Differentiation differentiate(RunCards a, RunCards b);

// The comparison as `pipeline compare --json` prints it (README: the
// object's fields); figures rounded to four decimals.
nlohmann::json to_json(const Differentiation& result);

// A short summary for tables, e.g. in `pipeline status <batch_id>`: score,
// mean_similarity, not_differentiated and per pattern its similarity.
nlohmann::json summary_json(const Differentiation& result);

// One pair of brands of a batch document: their runs' differentiation, or
// why there is none yet (a run without cards, or unreadable).
struct BatchPair {
  std::string brand_a;
  std::string brand_b;
  std::string run_a;
  std::string run_b;
  std::optional<Differentiation> result;
  std::string missing;  // when there is no result
};

// The pairs of one document of a batch.
struct DocumentDifferentiation {
  std::string input;
  std::vector<BatchPair> pairs;  // every pair of its runs, in the batch's brand order
};

// For each document of the batch, the differentiation of every pair of the
// runs made of it (for brands A, B, C: A-B, A-C, B-C).
std::vector<DocumentDifferentiation> batch_differentiation(const checkpoints::RunStore& store,
                                                           const checkpoints::BatchManifest& manifest);

// As `pipeline status <batch_id> --json` shows it: per document its input
// and pairs, each with brands, run ids and summary_json(), or `missing`.
nlohmann::json to_json(const std::vector<DocumentDifferentiation>& documents);

}  // namespace pipeline::report

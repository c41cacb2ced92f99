#pragma once

#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "lib/util/expected.hpp"
#include "stages/stage_work.hpp"

// Distinct by meaning, not by string: the parts of one run's stage 5 that
// must differ (the plan's five concepts, the cards' next steps and buyer
// questions) compared by the measure `compare` uses between runs
// (lib/util/tfidf.hpp: cosine of TF-IDF vectors of content words), so that
// a paraphrase counts as a repeat as an identical text does. Each function
// returns the problems in words for a re-ask, empty when there are none.
// Not wired into stage 5 yet: the fake model's free text (three to seven
// words from a small pool) puts two unrelated steps or questions of a run at
// 0.6 or more in more than one run in ten (the highest pair of 200 simulated
// runs: median 0.53, 90th percentile 0.67), which would add re-asks to the
// offline runs and the tests that count their requests.
namespace pipeline::stages {

// Two texts of a run at or above this similarity are repeats. The IDF is counted over the texts compared, so words
// every card shares (the brand, "store", "week") weigh little. Higher than
// compare's 0.5 for whole cards: a step or a question is one sentence, and
// two of them about one retailer share a larger part of their few words
// without being the same step. 0.6 flags a sentence reworded around the same
// content words; the tests hold both sides (test_stages_card_distinctness.cpp).
inline constexpr double k_repeat_similarity = 0.6;

// Two planned concepts whose concept, shopper, occasion and format, read
// together, are repeats of each other.
std::string plan_concept_repeats(const nlohmann::json& plan);

// The next steps and buyer questions of `card` that repeat one of the
// `others` (cards by pattern) in other words: exact copies are left to
// card_checks.hpp's repeats_against, which names them already.
std::string paraphrase_repeats(const nlohmann::json& card, const std::map<std::string, nlohmann::json>& others);

// The request that asks the card of `pattern` again: `card` is its answer
// now, `problem` what it repeats, `others` the other four cards as they are.
using RepeatRequest = std::function<NamedRequest(const std::string& pattern, const nlohmann::json& card,
                                                 const std::string& problem,
                                                 const std::map<std::string, nlohmann::json>& others)>;

// The five cards checked again after the re-ask round (card_checks.hpp's cross_card_repeats):
// two cards asked again at once may now repeat each other. Each card that
// still repeats another is asked once more, against the cards as they are
// now, and its answer kept; what it still repeats after that request's own
// re-asks is kept as a warning of that part. No third round.
util::Expected<nlohmann::json> recheck_repeats(StageWork& work, nlohmann::json cards, const RepeatRequest& ask_again);

}  // namespace pipeline::stages

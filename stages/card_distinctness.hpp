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
// Stage 5 uses them: the plan's concepts as a style check of the plan
// request, the cards' texts after the five are answered (card_repeats).
// The fake model's free text keeps unrelated texts of a run below the
// threshold (tests/fake_server/schema_generator.cpp; over 200 simulated
// runs the most similar pair of cards' texts: median 0.26, highest 0.52,
// test_stages_card_distinctness.cpp), so offline runs pay no re-asks for it.
namespace pipeline::stages {

// Two texts of a run at or above this similarity are repeats. The IDF is counted over the texts compared, so words
// every card shares (the brand, "store", "week") weigh little. Higher than
// compare's 0.5 for whole cards: a step or a question is one sentence, and
// two of them about one retailer share a larger part of their few words
// without being the same step. 0.6 flags a sentence reworded around the same
// content words; the tests hold both sides (test_stages_card_distinctness.cpp).
inline constexpr double k_repeat_similarity = 0.6;

// A next step or buyer question of fewer distinct content words than this
// is too short to be judged by shared words (two of its three words are a
// third of the sentence): only an exact repeat of it counts.
inline constexpr std::size_t k_least_words_to_compare = 5;

// Two planned concepts whose concept, shopper, occasion and format, read
// together, are repeats of each other.
std::string plan_concept_repeats(const nlohmann::json& plan);

// The next steps and buyer questions of `card` that repeat one of the
// `others` (cards by pattern) in other words: exact copies are left to
// card_checks.hpp's repeats_against, which names them already.
std::string paraphrase_repeats(const nlohmann::json& card, const std::map<std::string, nlohmann::json>& others);

// What `card` repeats of the `others` (cards by pattern), exact copies
// (card_checks.hpp's repeats_against) and paraphrases alike, with the advice
// to make its own; empty when it repeats nothing.
std::string card_repeats_against(const nlohmann::json& card, const std::map<std::string, nlohmann::json>& others);

// The five cards (an object by pattern) read in pattern order: each card that
// repeats an earlier one, exactly or in other words, with what it repeats.
// The earlier card of a pair is kept; the later one is the one to ask again.
std::map<std::string, std::string> card_repeats(const nlohmann::json& cards);

// How one round asks cards again: the request for the card of `pattern`,
// given what it repeats and the other four cards as they are, and the whole
// card made from that request's answer.
struct RepeatRound {
  std::function<NamedRequest(const std::string& pattern, const std::string& problem,
                             const std::map<std::string, nlohmann::json>& others)>
      ask_again;
  std::function<nlohmann::json(const std::string& pattern, const nlohmann::json& answer)> card_of;
};

// One round over the five cards (card_repeats): each card that repeats an
// earlier one is asked again, all of them at once, and its new card kept;
// without a repeat, no request. Stage 5 runs it twice: after the five cards,
// and once more after that round, as two cards asked again at once may now
// repeat each other. What a card still repeats after its request's own
// re-asks is kept as a warning of that part (the request's style check);
// there is no third round.
util::Expected<nlohmann::json> recheck_repeats(StageWork& work, nlohmann::json cards, const RepeatRound& round);

}  // namespace pipeline::stages

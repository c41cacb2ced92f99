#include "stages/card_distinctness.hpp"

#include <set>
#include <vector>

#include <fmt/format.h>

#include "lib/util/content_words.hpp"
#include "lib/util/tfidf.hpp"
#include "stages/card_checks.hpp"
#include "stages/vocabulary.hpp"

namespace pipeline::stages {
namespace {

std::string distinct_text(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

const nlohmann::json& distinct_child(const nlohmann::json& object, const char* key) {
  static const nlohmann::json empty = nlohmann::json::object();
  if (!object.is_object()) return empty;
  const auto found = object.find(key);
  return found != object.end() ? *found : empty;
}

// A card's texts that must be its own, each with what it is.
struct OwnText {
  std::string what;  // "next step", "buyer question"
  std::string text;
};

std::vector<OwnText> own_texts(const nlohmann::json& card) {
  std::vector<OwnText> texts;
  const auto& steps = distinct_child(card, "next_steps");
  for (const char* kind : {"production_trial", "retailer_test", "claim_proof"})
    texts.push_back({"next step", distinct_text(distinct_child(steps, kind), "action")});
  const auto& questions = distinct_child(card, "buyer_questions");
  texts.push_back({"buyer question", distinct_text(distinct_child(questions, "versus_competitor"), "question")});
  texts.push_back({"buyer question", distinct_text(questions, "trade_terms")});
  return texts;
}

bool long_enough_to_compare(const std::string& text) {
  const auto words = util::content_words(text);
  return std::set<std::string>(words.begin(), words.end()).size() >= k_least_words_to_compare;
}

}  // namespace

std::string plan_concept_repeats(const nlohmann::json& plan) {
  const auto& patterns = vocabulary::patterns();
  std::vector<std::string> texts;
  for (const auto& pattern : patterns) {
    const auto& planned = distinct_child(plan, pattern.c_str());
    std::string text;
    for (const char* key : {"concept", "shopper", "occasion", "format"}) text += distinct_text(planned, key) + "\n";
    texts.push_back(std::move(text));
  }
  std::string problems;
  for (const auto& pair : util::similar_pairs(texts, k_repeat_similarity)) {
    add_problem(problems, fmt::format("the {} and {} concepts say much the same in other words (similarity {:.2f}): \"{}\" "
                                      "and \"{}\"",
                                      patterns[pair.first], patterns[pair.second], pair.similarity,
                                      distinct_text(distinct_child(plan, patterns[pair.first].c_str()), "concept"),
                                      distinct_text(distinct_child(plan, patterns[pair.second].c_str()), "concept")));
  }
  if (problems.empty()) return {};
  return problems + ". Make each concept a different product for a different shopper or occasion, not a rewording.";
}

std::string paraphrase_repeats(const nlohmann::json& card, const std::map<std::string, nlohmann::json>& others) {
  // Every text compared, the card's first: the IDF is counted over all of them.
  std::vector<std::string> texts;
  std::vector<std::string> kinds;
  std::vector<std::string> owners;
  for (const auto& own : own_texts(card)) {
    texts.push_back(own.text);
    kinds.push_back(own.what);
    owners.push_back({});
  }
  const std::size_t own_count = texts.size();
  for (const auto& [pattern, other] : others) {
    for (const auto& theirs : own_texts(other)) {
      texts.push_back(theirs.text);
      kinds.push_back(theirs.what);
      owners.push_back(pattern);
    }
  }
  std::string problems;
  for (const auto& pair : util::similar_pairs(texts, k_repeat_similarity)) {
    // Only the card's own texts against another card's of the same kind, and no exact copy (named elsewhere).
    if (pair.first >= own_count || pair.second < own_count || kinds[pair.first] != kinds[pair.second]) continue;
    if (normalised_text(texts[pair.first]) == normalised_text(texts[pair.second])) continue;
    if (!long_enough_to_compare(texts[pair.first]) || !long_enough_to_compare(texts[pair.second])) continue;
    add_problem(problems, fmt::format("the {} \"{}\" repeats in other words the {} card's \"{}\" (similarity {:.2f})",
                                      kinds[pair.first], texts[pair.first], owners[pair.second], texts[pair.second],
                                      pair.similarity));
  }
  return problems;
}

std::string card_repeats_against(const nlohmann::json& card, const std::map<std::string, nlohmann::json>& others) {
  const std::string exact = repeats_against(card, others);
  const std::string meaning = paraphrase_repeats(card, others);
  if (meaning.empty()) return exact;
  if (exact.empty()) return meaning + ". Each card needs next steps, buyer questions and figures of its own product.";
  return meaning + "; " + exact;
}

std::map<std::string, std::string> card_repeats(const nlohmann::json& cards) {
  std::map<std::string, std::string> out;
  std::map<std::string, nlohmann::json> earlier;
  for (const auto& pattern : vocabulary::patterns()) {
    const auto& card = distinct_child(cards, pattern.c_str());
    if (auto problem = card_repeats_against(card, earlier); !problem.empty()) out[pattern] = problem;
    earlier[pattern] = card;
  }
  return out;
}

util::Expected<nlohmann::json> recheck_repeats(StageWork& work, nlohmann::json cards, const RepeatRound& round) {
  const auto repeats = card_repeats(cards);
  if (repeats.empty()) return cards;
  std::vector<NamedRequest> requests;
  std::vector<std::string> asked;
  for (const auto& pattern : vocabulary::patterns()) {
    const auto repeat = repeats.find(pattern);
    if (repeat == repeats.end()) continue;
    std::map<std::string, nlohmann::json> others;
    for (const auto& other : vocabulary::patterns())
      if (other != pattern) others[other] = cards[other];
    requests.push_back(round.ask_again(pattern, repeat->second, others));
    asked.push_back(pattern);
  }
  auto answers = work.ask(requests);
  if (!answers) return answers.error();
  for (std::size_t i = 0; i < asked.size(); ++i) cards[asked[i]] = round.card_of(asked[i], (*answers)[i]);
  return cards;
}

}  // namespace pipeline::stages

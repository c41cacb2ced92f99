#include "report/differentiation.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "lib/util/content_words.hpp"
#include "lib/util/json_text.hpp"
#include "review/card_review.hpp"
#include "stages/run_files.hpp"
#include "stages/stage_registry.hpp"
#include "stages/vocabulary.hpp"

namespace pipeline::report {

namespace vocabulary = stages::vocabulary;
namespace {

using util::ErrorKind;

// Appends the strings of `value` the writer chose: those whose schema is
// neither an enumeration nor a constant.
void collect_card_free_text(const nlohmann::json& value, const nlohmann::json& schema, std::string& out) {
  if (schema.contains("enum") || schema.contains("const")) return;
  if (value.is_string()) {
    out += value.get<std::string>();
    out += '\n';
  } else if (value.is_object()) {
    const auto properties = schema.find("properties");
    for (const auto& [key, member] : value.items()) {
      const bool known = properties != schema.end() && properties->contains(key);
      collect_card_free_text(member, known ? properties->at(key) : nlohmann::json::object(), out);
    }
  } else if (value.is_array()) {
    const nlohmann::json items = schema.value("items", nlohmann::json::object());
    for (const auto& item : value) collect_card_free_text(item, items, out);
  }
}

void collect_profile_text(const nlohmann::json& value, std::string& out) {
  if (value.is_string()) {
    out += value.get<std::string>();
    out += '\n';
  } else if (value.is_array() || value.is_object()) {
    for (const auto& member : value) collect_profile_text(member, out);
  }
}

double differentiation_round(double value) { return std::round(value * 10000.0) / 10000.0; }

nlohmann::json pair_grounding_json(const Grounding& grounding) {
  return {{"terms", grounding.terms},
          {"own", grounding.own},
          {"other", grounding.other},
          {"own_share", differentiation_round(grounding.own_share())},
          {"other_share", differentiation_round(grounding.other_share())}};
}

nlohmann::json compared_run_json(const RunCards& side) {
  return {{"run_id", side.run_id},     {"brand", side.brand_id},
          {"company_name", side.company_name}, {"document", side.document},
          {"document_sha256", side.document_sha256}};
}

util::Expected<nlohmann::json> read_compared_json(const checkpoints::RunStore& store, const std::string& run_id,
                                                  const std::string& path) {
  auto text = store.read_artifact(run_id, path);
  if (!text) return text.error();
  auto json = util::parse_json_or_discarded(*text);
  if (json.is_discarded()) {
    return util::Error{ErrorKind::bad_input, fmt::format("run {}: {} is not valid JSON", run_id, path), {}};
  }
  return json;
}

}  // namespace

std::string card_text(const nlohmann::json& card, const std::string& pattern) {
  const stages::Stage* stage = stages::find_stage("opportunities");
  const auto& cards = stage->schema().at("properties");
  std::string out;
  collect_card_free_text(card, cards.contains(pattern) ? cards.at(pattern) : nlohmann::json::object(), out);
  return out;
}

std::set<std::string> profile_vocabulary(const nlohmann::json& profile) {
  std::string text;
  if (profile.is_object()) {
    for (const auto& [key, value] : profile.items())
      if (key != "id") collect_profile_text(value, text);
  }
  const auto words = util::content_words(text);
  return {words.begin(), words.end()};
}

Grounding grounding(const TermCounts& card, const std::set<std::string>& own_profile,
                    const std::set<std::string>& other_profile) {
  Grounding out;
  for (const auto& [term, count] : card) {
    out.terms += 1;
    const bool in_own = own_profile.count(term) > 0;
    const bool in_other = other_profile.count(term) > 0;
    out.own += in_own && !in_other;
    out.other += in_other && !in_own;
  }
  return out;
}

util::Expected<RunCards> load_run_cards(const checkpoints::RunStore& store, const checkpoints::RunState& state) {
  const stages::Stage& stage = *stages::find_stage("opportunities");
  const auto& record = state.stage(stage.number());
  if (record.status != checkpoints::StageStatus::done) {
    return util::Error{ErrorKind::bad_input,
                       fmt::format("run {} has no cards to compare: stage {} ({}) is {}, not done", state.run_id,
                                   stage.number(), stage.name(), checkpoints::to_string(record.status)),
                       {}};
  }
  auto cards = read_compared_json(store, state.run_id, stages::output_path(stage));
  if (!cards) return cards.error();
  auto profile = read_compared_json(store, state.run_id, stages::k_brand_path);
  if (!profile) return profile.error();
  auto reviewed = review::load_review(store, state);
  if (!reviewed) return reviewed.error();
  return RunCards{state.run_id,       state.brand.id,     state.brand.company_name, state.brand.sha256,
                  state.input.source, state.input.sha256, std::move(*cards),        std::move(*profile),
                  reviewed->value_or(nlohmann::json())};
}

nlohmann::json review_scores(const RunCards& side, const std::string& pattern) {
  if (!side.review.is_object()) return nullptr;
  const auto& cards = side.review.value("cards", nlohmann::json::object());
  const auto& card = cards.is_object() ? cards.value(pattern, nlohmann::json()) : nlohmann::json();
  if (!card.is_object()) return nullptr;
  nlohmann::json scores = nlohmann::json::object();
  for (const auto& criterion : review::criteria()) {
    const auto& entry = card.value(criterion, nlohmann::json());
    scores[criterion] = entry.is_object() ? entry.value("score", nlohmann::json()) : nlohmann::json();
  }
  return scores;
}

double Differentiation::mean_similarity() const {
  if (pairs.empty()) return 0.0;
  double sum = 0;
  for (const auto& pair : pairs) sum += pair.similarity;
  return sum / static_cast<double>(pairs.size());
}

int Differentiation::not_differentiated() const {
  return static_cast<int>(std::count_if(pairs.begin(), pairs.end(), [](const CardPair& p) { return !p.differentiated(); }));
}

std::vector<std::string> Differentiation::notes() const {
  std::vector<std::string> notes;
  if (same_run()) {
    notes.push_back(fmt::format("run {} is compared with itself: every pair is identical (similarity 1) and flagged",
                                a.run_id));
  } else if (same_brand()) {
    notes.push_back(fmt::format("both runs are for the same brand profile ({}): grounding cannot tell them apart, "
                                "as no word is in one profile and not in the other",
                                a.brand_id));
  }
  if (!same_document()) {
    notes.push_back(fmt::format("the runs are of different documents ({} and {}): their cards differ by document as "
                                "well as by brand",
                                a.document, b.document));
  }
  return notes;
}

Differentiation differentiate(RunCards a, RunCards b) {
  Differentiation out;
  out.a = std::move(a);
  out.b = std::move(b);
  const auto& patterns = vocabulary::patterns();
  const auto card_of = [](const RunCards& side, const std::string& pattern) {
    return side.cards.is_object() && side.cards.contains(pattern) ? side.cards.at(pattern) : nlohmann::json::object();
  };
  std::vector<TermCounts> terms_a, terms_b;
  for (const auto& pattern : patterns) {
    terms_a.push_back(term_counts(card_text(card_of(out.a, pattern), pattern)));
    terms_b.push_back(term_counts(card_text(card_of(out.b, pattern), pattern)));
  }
  std::vector<TermCounts> collection = terms_a;
  collection.insert(collection.end(), terms_b.begin(), terms_b.end());
  const auto profile_a = profile_vocabulary(out.a.profile);
  const auto profile_b = profile_vocabulary(out.b.profile);
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    CardPair pair;
    pair.pattern = patterns[i];
    pair.similarity = tfidf_cosine(terms_a[i], terms_b[i], collection);
    pair.grounding_a = grounding(terms_a[i], profile_a, profile_b);
    pair.grounding_b = grounding(terms_b[i], profile_b, profile_a);
    out.pairs.push_back(std::move(pair));
  }
  return out;
}

nlohmann::json to_json(const Differentiation& result) {
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& pair : result.pairs) {
    const auto title = [&](const RunCards& side) {
      const auto& card = side.cards.is_object() ? side.cards.value(pair.pattern, nlohmann::json::object())
                                                : nlohmann::json::object();
      return card.is_object() ? card.value("title", std::string()) : std::string();
    };
    pairs.push_back({{"pattern", pair.pattern},
                     {"title_a", title(result.a)},
                     {"title_b", title(result.b)},
                     {"similarity", differentiation_round(pair.similarity)},
                     {"differentiated", pair.differentiated()},
                     {"grounding_a", pair_grounding_json(pair.grounding_a)},
                     {"grounding_b", pair_grounding_json(pair.grounding_b)},
                     {"review_a", review_scores(result.a, pair.pattern)},
                     {"review_b", review_scores(result.b, pair.pattern)}});
  }
  return {{"run_a", compared_run_json(result.a)},
          {"run_b", compared_run_json(result.b)},
          {"same_run", result.same_run()},
          {"same_document", result.same_document()},
          {"same_brand", result.same_brand()},
          {"threshold", k_not_differentiated_at},
          {"pairs", std::move(pairs)},
          {"mean_similarity", differentiation_round(result.mean_similarity())},
          {"score", differentiation_round(result.score())},
          {"not_differentiated", result.not_differentiated()},
          {"notes", result.notes()}};
}

nlohmann::json summary_json(const Differentiation& result) {
  nlohmann::json similarity = nlohmann::json::object();
  for (const auto& pair : result.pairs) similarity[pair.pattern] = differentiation_round(pair.similarity);
  return {{"score", differentiation_round(result.score())},
          {"mean_similarity", differentiation_round(result.mean_similarity())},
          {"not_differentiated", result.not_differentiated()},
          {"similarity", std::move(similarity)}};
}

std::vector<DocumentDifferentiation> batch_differentiation(const checkpoints::RunStore& store,
                                                           const checkpoints::BatchManifest& manifest) {
  // Each run is read once, however many pairs it is in.
  std::map<std::string, util::Expected<RunCards>> loaded;
  const auto cards_of = [&](const std::string& run_id) -> const util::Expected<RunCards>& {
    auto it = loaded.find(run_id);
    if (it != loaded.end()) return it->second;
    auto state = store.load(run_id);
    util::Expected<RunCards> cards = state ? load_run_cards(store, *state) : util::Expected<RunCards>(state.error());
    return loaded.emplace(run_id, std::move(cards)).first->second;
  };
  std::vector<DocumentDifferentiation> out;
  for (const auto& input : manifest.inputs) {
    DocumentDifferentiation document;
    document.input = input;
    std::vector<const checkpoints::BatchRun*> runs;
    for (const auto& run : manifest.runs)
      if (run.input == input) runs.push_back(&run);
    for (std::size_t i = 0; i < runs.size(); ++i) {
      for (std::size_t j = i + 1; j < runs.size(); ++j) {
        BatchPair pair{runs[i]->brand, runs[j]->brand, runs[i]->run_id, runs[j]->run_id, std::nullopt, {}};
        const auto& a = cards_of(pair.run_a);
        const auto& b = cards_of(pair.run_b);
        if (a && b) pair.result = differentiate(*a, *b);
        else pair.missing = a ? b.error().message : a.error().message;
        document.pairs.push_back(std::move(pair));
      }
    }
    out.push_back(std::move(document));
  }
  return out;
}

nlohmann::json to_json(const std::vector<DocumentDifferentiation>& documents) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& document : documents) {
    nlohmann::json pairs = nlohmann::json::array();
    for (const auto& pair : document.pairs) {
      nlohmann::json entry = {{"brand_a", pair.brand_a}, {"brand_b", pair.brand_b}, {"run_a", pair.run_a},
                              {"run_b", pair.run_b}};
      if (pair.result) entry.update(summary_json(*pair.result));
      else entry["missing"] = pair.missing;
      pairs.push_back(std::move(entry));
    }
    out.push_back({{"input", document.input}, {"threshold", k_not_differentiated_at}, {"pairs", std::move(pairs)}});
  }
  return out;
}

}  // namespace pipeline::report

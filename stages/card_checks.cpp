#include "stages/card_checks.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "stages/vocabulary.hpp"
#include "lib/util/text.hpp"

namespace pipeline::stages {
namespace {

std::string text_at(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const nlohmann::json& child(const nlohmann::json& object, const char* key) {
  static const nlohmann::json none;
  if (!object.is_object()) return none;
  auto it = object.find(key);
  return it == object.end() ? none : *it;
}

// The next steps of a card, each as its action text.
std::vector<std::string> next_steps(const nlohmann::json& card) {
  std::vector<std::string> out;
  const auto& steps = child(card, "next_steps");
  if (!steps.is_object()) return out;
  for (const auto& [kind, step] : steps.items()) out.push_back(text_at(step, "action"));
  return out;
}

std::vector<std::string> buyer_questions(const nlohmann::json& card) {
  const auto& questions = child(card, "buyer_questions");
  return {text_at(child(questions, "versus_competitor"), "question"), text_at(questions, "trade_terms")};
}

// Price with currency, rate of sale and margin, as one comparable key; empty when any is missing.
std::string figures_key(const nlohmann::json& card) {
  const auto& retail = child(card, "retail");
  const auto& price = child(retail, "price");
  const auto& units = child(retail, "units_per_store_per_week");
  const auto& margin = child(retail, "gross_margin_pct");
  if (!price.is_number() || !units.is_number() || !margin.is_number()) return {};
  return fmt::format("{:.2f} {} / {:.2f} units / {:.1f} %", price.get<double>(), text_at(retail, "currency"),
                     units.get<double>(), margin.get<double>());
}

// The parts of a card that say what it is and where it is sold.
std::string card_wording(const nlohmann::json& card) {
  std::string out = text_at(card, "title") + "\n" + text_at(card, "price_point") + "\n" + text_at(card, "shelf") + "\n";
  const auto& description = child(card, "description");
  if (description.is_object())
    for (const auto& [key, value] : description.items())
      if (value.is_string()) out += value.get<std::string>() + "\n";
  return normalised_text(out);
}

const std::vector<std::string> k_cold_card_words = {"chilled", "refrigerat", "frozen", "fridge", "freezer", "cold chain"};
const std::vector<std::string> k_direct_card_words = {"subscription", "subscribe", "direct-to-consumer", "direct to consumer",
                                                 "d2c", "own website", "own web shop"};

}  // namespace

void add_problem(std::string& problems, const std::string& problem) {
  if (!problem.empty()) problems += (problems.empty() ? "" : "; ") + problem;
}

std::string normalised_text(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Whether `needle` occurs in `haystack` as whole words: no letter or digit just before or after it.
bool contains_whole_words(const std::string& haystack, const std::string& needle) {
  const auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) {
    const auto end = at + needle.size();
    if ((at == 0 || !word_char(haystack[at - 1])) && (end == haystack.size() || !word_char(haystack[end]))) return true;
  }
  return false;
}

bool names_one_of(const std::string& text, const std::vector<std::string>& names) {
  const std::string wanted = normalised_text(text);
  if (wanted.size() < 3) return false;
  return std::any_of(names.begin(), names.end(), [&](const std::string& name) {
    const std::string known = normalised_text(name);
    return known.size() >= 3 && (contains_whole_words(known, wanted) || contains_whole_words(wanted, known));
  });
}

std::string brand_anchor_problems(const nlohmann::json& anchor, const BrandFacts& facts, const std::string& where) {
  std::string problems;
  const std::string line = text_at(anchor, "product_line");
  if (!facts.product_lines.empty() && !names_one_of(line, facts.product_lines))
    add_problem(problems, fmt::format("{} brand_anchor.product_line \"{}\" names no product line of the brand profile; use "
                                 "the profile's own name of the line it extends",
                                 where, line));
  const std::string segment = text_at(anchor, "customer_segment");
  if (!facts.customer_segments.empty() && !names_one_of(segment, facts.customer_segments))
    add_problem(problems, fmt::format("{} brand_anchor.customer_segment \"{}\" names none of the profile's target "
                                 "customers; use the profile's own words for the segment",
                                 where, segment));
  return problems;
}

std::string anchors_problems(const nlohmann::json& answer, const BrandFacts& facts) {
  if (answer.contains("brand_anchor")) return brand_anchor_problems(answer["brand_anchor"], facts, "the card's");
  std::string problems;
  for (const auto& pattern : vocabulary::patterns()) {
    const auto& concept_json = child(answer, pattern.c_str());
    add_problem(problems, brand_anchor_problems(child(concept_json, "brand_anchor"), facts, "the " + pattern + " concept's"));
  }
  return problems;
}

std::string plan_problems(const nlohmann::json& plan) {
  const auto& patterns = vocabulary::patterns();
  std::string problems;
  for (size_t i = 0; i < patterns.size(); ++i) {
    for (size_t j = i + 1; j < patterns.size(); ++j) {
      const auto& first = child(plan, patterns[i].c_str());
      const auto& second = child(plan, patterns[j].c_str());
      const auto same = [&](const char* key) { return normalised_text(text_at(first, key)) == normalised_text(text_at(second, key)); };
      if (same("title"))
        add_problem(problems, fmt::format("{} and {} have the same title \"{}\"", patterns[i], patterns[j], text_at(first, "title")));
      if (same("shopper") && same("occasion"))
        add_problem(problems, fmt::format("{} and {} are for the same shopper (\"{}\") on the same occasion (\"{}\")", patterns[i],
                                     patterns[j], text_at(first, "shopper"), text_at(first, "occasion")));
      if (same("format"))
        add_problem(problems, fmt::format("{} and {} have the same format \"{}\"", patterns[i], patterns[j], text_at(first, "format")));
    }
  }
  if (problems.empty()) return {};
  return problems + ". Give each pattern a product of its own: its own title, format, and shopper or occasion.";
}

std::string card_title_problem(const nlohmann::json& card, const nlohmann::json& plan, const std::string& pattern) {
  const std::string title = text_at(card, "title");
  for (const auto& other : vocabulary::patterns()) {
    if (other == pattern || normalised_text(title) != normalised_text(text_at(child(plan, other.c_str()), "title"))) continue;
    return fmt::format("the title \"{}\" belongs to the {} card; give this {} card its own title, such as its planned \"{}\"",
                       title, other, pattern, text_at(child(plan, pattern.c_str()), "title"));
  }
  return {};
}

std::string feasibility_problems(const nlohmann::json& card, const BrandFacts& facts) {
  std::string problems;
  const auto& feasibility = child(card, "feasibility");
  const std::string storage = text_at(feasibility, "storage");
  const auto storages = storage_options(facts);
  if (!storage.empty() && std::find(storages.begin(), storages.end(), storage) == storages.end())
    add_problem(problems, fmt::format("feasibility.storage \"{}\" needs a cold chain the brand does not have", storage));
  const std::string channel = text_at(feasibility, "channel");
  const auto channels = channel_options(facts);
  if (!channel.empty() && std::find(channels.begin(), channels.end(), channel) == channels.end())
    add_problem(problems, fmt::format("feasibility.channel \"{}\" needs a direct channel the brand does not have", channel));
  add_problem(problems, wording_problems(card_wording(card), facts, "the card"));
  return problems;
}

std::string wording_problems(const std::string& text, const BrandFacts& facts, const std::string& where) {
  std::string problems;
  const std::string wording = normalised_text(text);
  if (!facts.cold_chain && util::contains_any(wording, k_cold_card_words))
    add_problem(problems, where + " speaks of chilled or frozen goods, and the brand has no cold chain: make it shelf-stable");
  if (!facts.direct_channel && util::contains_any(wording, k_direct_card_words))
    add_problem(problems, where + " speaks of a subscription or a direct-to-consumer offer, and the brand has no channel "
                             "of its own to consumers: sell it through retailers");
  return problems;
}

std::string plan_feasibility_problems(const nlohmann::json& plan, const BrandFacts& facts) {
  std::string problems;
  for (const auto& pattern : vocabulary::patterns()) {
    const auto& planned = child(plan, pattern.c_str());
    std::string text;
    for (const char* key : {"title", "concept", "occasion", "format"}) text += text_at(planned, key) + "\n";
    add_problem(problems, wording_problems(text, facts, "the " + pattern + " concept"));
  }
  return problems;
}

std::string repeats_against(const nlohmann::json& card, const std::map<std::string, nlohmann::json>& others) {
  std::string problems;
  const auto steps = next_steps(card);
  const auto questions = buyer_questions(card);
  const std::string figures = figures_key(card);
  for (const auto& [pattern, other] : others) {
    const auto other_steps = next_steps(other);
    for (const auto& step : steps) {
      const bool repeated = std::any_of(other_steps.begin(), other_steps.end(), [&](const std::string& theirs) {
        return !step.empty() && normalised_text(step) == normalised_text(theirs);
      });
      if (repeated) add_problem(problems, fmt::format("the next step \"{}\" is also a next step of the {} card", step, pattern));
    }
    const auto other_questions = buyer_questions(other);
    for (const auto& question : questions) {
      const bool repeated = std::any_of(other_questions.begin(), other_questions.end(), [&](const std::string& theirs) {
        return !question.empty() && normalised_text(question) == normalised_text(theirs);
      });
      if (repeated) add_problem(problems, fmt::format("the buyer question \"{}\" is also asked on the {} card", question, pattern));
    }
    if (!figures.empty() && figures == figures_key(other))
      add_problem(problems, fmt::format("the retail figures ({}) are the same as the {} card's", figures, pattern));
  }
  if (problems.empty()) return {};
  return problems + ". Each card needs next steps, buyer questions and figures of its own product.";
}

}  // namespace pipeline::stages

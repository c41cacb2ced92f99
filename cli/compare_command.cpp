#include "cli/compare_command.hpp"

#include <fmt/format.h>

#include "cli/run_support.hpp"
#include "lib/util/error.hpp"
#include "lib/util/file_io.hpp"
#include "report/compare_page.hpp"
#include "review/card_review.hpp"
#include "stages/vocabulary.hpp"

namespace pipeline::cli {
namespace {

using util::ErrorKind;
using util::FatalError;

struct CompareOptions {
  std::string run_a;
  std::string run_b;
  std::string html;
};

std::string percent(double share) { return fmt::format("{:.0f}%", share * 100.0); }

std::string grounding_text(const report::Grounding& grounding) {
  return fmt::format("{} / {}", percent(grounding.own_share()), percent(grounding.other_share()));
}

std::string compare_text(const report::Differentiation& result) {
  const auto title = [&](const report::RunCards& side, const std::string& pattern) {
    const auto& card = side.cards.value(pattern, nlohmann::json::object());
    return card.is_object() ? card.value("title", std::string("(no title)")) : std::string("(no card)");
  };
  std::string text = fmt::format("compare  A {} ({})\n         B {} ({})\n", result.a.run_id, result.a.brand_id,
                                 result.b.run_id, result.b.brand_id);
  text += result.same_document() ? fmt::format("document {} (both)\n", result.a.document)
                                 : fmt::format("document A {}\n         B {}\n", result.a.document, result.b.document);
  text += fmt::format("\n  {:<20} {:>10}  {:>13}  {:>13}  {}\n", "pattern", "similarity", "A own/other", "B own/other",
                      "verdict");
  for (const auto& pair : result.pairs) {
    text += fmt::format("  {:<20} {:>10.2f}  {:>13}  {:>13}  {}\n", stages::vocabulary::dashed(pair.pattern),
                        pair.similarity, grounding_text(pair.grounding_a), grounding_text(pair.grounding_b),
                        pair.differentiated() ? "differentiated" : "NOT DIFFERENTIATED");
    text += fmt::format("  {:<20} A: {}\n  {:<20} B: {}\n", "", title(result.a, pair.pattern), "",
                        title(result.b, pair.pattern));
    for (const auto* side : {&result.a, &result.b}) {
      const auto& reviewed = side->review.is_object() ? side->review.value("cards", nlohmann::json::object())
                                                      : nlohmann::json();
      const auto line = reviewed.is_object() ? review::scores_line(reviewed.value(pair.pattern, nlohmann::json()))
                                             : std::string();
      if (!line.empty()) text += fmt::format("  {:<20} {} review: {}\n", "", side == &result.a ? "A" : "B", line);
    }
  }
  text += fmt::format("\n  differentiation {:.2f} (1 - mean similarity {:.2f}); {} of {} pairs not differentiated "
                      "(similarity {:.2f} or more)\n",
                      result.score(), result.mean_similarity(), result.not_differentiated(), result.pairs.size(),
                      report::k_not_differentiated_at);
  text += "  similarity: cosine of TF-IDF vectors of the cards' content words; own/other: share of a card's words\n"
          "  found only in its own brand's profile / only in the other brand's\n";
  for (const auto& note : result.notes()) text += "  note: " + note + "\n";
  return text;
}

void run_compare(const GlobalOptions& options, const CompareOptions& compare) {
  auto store = open_store(options);
  const auto state_a = store->load(compare.run_a).value_or_throw();
  const auto state_b = store->load(compare.run_b).value_or_throw();
  auto cards_a = report::load_run_cards(*store, state_a).value_or_throw();
  auto cards_b = report::load_run_cards(*store, state_b).value_or_throw();
  const auto result = report::differentiate(std::move(cards_a), std::move(cards_b));
  if (!compare.html.empty()) {
    auto written = util::write_file_atomic(compare.html, report::compare_page(result));
    if (!written) {
      throw FatalError(ErrorKind::bad_input, fmt::format("cannot write {}: {}", compare.html, written.error().message));
    }
  }
  if (options.json) {
    print_json(report::to_json(result));
  } else {
    print_human(options, compare_text(result) + (compare.html.empty() ? "" : "  page: " + compare.html + "\n"));
  }
}

}  // namespace

std::string batch_differentiation_text(const std::vector<report::DocumentDifferentiation>& documents) {
  std::string text = fmt::format("  differentiation per document (1 - mean card similarity; a pattern at {:.2f} or "
                                 "more is not differentiated)\n",
                                 report::k_not_differentiated_at);
  for (const auto& document : documents) {
    text += "  " + document.input + "\n";
    if (document.pairs.empty()) text += "    one brand only: no pair to compare\n";
    for (const auto& pair : document.pairs) {
      const std::string brands = pair.brand_a + " vs " + pair.brand_b;
      if (!pair.result) {
        text += fmt::format("    {:<44} -     {}\n", brands, pair.missing);
        continue;
      }
      std::string flagged;
      for (const auto& card : pair.result->pairs)
        if (!card.differentiated())
          flagged += (flagged.empty() ? ": " : ", ") + stages::vocabulary::dashed(card.pattern);
      text += fmt::format("    {:<44} {:.2f}  {} of 5 not differentiated{}\n", brands, pair.result->score(),
                          pair.result->not_differentiated(), flagged);
    }
  }
  return text;
}

void register_compare_command(CLI::App& app, GlobalOptions& options) {
  auto compare = std::make_shared<CompareOptions>();
  auto* command =
      app.add_subcommand("compare", "How different two runs' cards are, pattern by pattern (brand differentiation)");
  command->add_option("run_a", compare->run_a, "The first run")->required();
  command->add_option("run_b", compare->run_b, "The second run")->required();
  command->add_option("--html", compare->html, "Also write a page with the cards side by side and the scores");
  command->footer(
      "Both runs need stage 5 done. For each of the five patterns: the cosine similarity of the TF-IDF\n"
      "vectors of the two cards' content words (1 identical, 0 no word in common), and each card's\n"
      "grounding: the share of its words found only in its own brand's profile, and only in the other\n"
      "brand's. A pair at 0.50 or more is flagged NOT DIFFERENTIATED. The overall score is 1 - the mean\n"
      "similarity. A run compared with itself scores 0; runs of different documents are compared too,\n"
      "and the output says so. --json prints one object (see the README); exit 3 when a run is missing\n"
      "or has no cards yet.\n\n"
      "Example: pipeline compare report-hollowmere-dairy-... report-marigold-mill-... --html compare.html");
  command->callback([&options, compare] { run_compare(options, *compare); });
}

}  // namespace pipeline::cli

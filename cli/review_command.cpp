// `pipeline review <run_id> [--review-model M]`: a second opinion on a run's
// cards, kept in the run and shown on its report and by `compare`.

#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/app.hpp"
#include "cli/progress.hpp"
#include "cli/run_support.hpp"
#include "lib/util/text.hpp"
#include "review/card_review.hpp"
#include "service/run_review.hpp"
#include "stages/vocabulary.hpp"

namespace pipeline::cli {
namespace {

struct ReviewCommandOptions {
  std::string run_id;
  std::string model;
  std::string deadline;
};

// The review for people: per card its title, then each score with its reason.
std::string review_text(const nlohmann::json& review) {
  std::string text = fmt::format("review by {}, 1 (poor) to 5 (excellent)\n", review.value("model", std::string()));
  const auto& cards = review.at("cards");
  for (const auto& pattern : stages::vocabulary::patterns()) {
    if (!cards.contains(pattern)) continue;
    const auto& card = cards.at(pattern);
    text += fmt::format("\n  {:<20} {}\n", stages::vocabulary::dashed(pattern),
                        util::escape_control(card.value("title", std::string())));
    for (const auto& criterion : review::criteria()) {
      const auto& entry = card.at(criterion);
      text += fmt::format("    {:<14} {}  {}\n", review::criterion_label(criterion), entry.value("score", 0),
                          util::escape_control(entry.value("reason", std::string())));
    }
  }
  return text + fmt::format("\n  total  {}\n", describe_usage(review.at("usage")));
}

}  // namespace

void review_printed(const GlobalOptions& options, const service::RunSettings& settings, checkpoints::RunStore& store,
                    const std::string& run_id, const std::string& model,
                    std::optional<util::Clock::time_point> deadline) {
  const auto done = service::review_run(settings, store, run_id, model, deadline);
  if (options.json) {
    print_json({{"event", "review_done"}, {"run_id", run_id}, {"review", done.review}});
    return;
  }
  print_human(options, review_text(done.review) + fmt::format("  kept in {}/{}", store.location(run_id),
                                                              review::k_review_path));
}

void register_review_command(CLI::App& app, GlobalOptions& options) {
  auto review = std::make_shared<ReviewCommandOptions>();
  auto* command = app.add_subcommand(
      "review", "A second opinion on a run's cards: each scored 1-5 on novelty, actionability, brand fit, specificity");
  command->add_option("run_id", review->run_id, "The run")->required();
  command->add_option("--review-model", review->model, "The model that reviews (default: the run's model)")
      ->check(not_empty());
  command->add_option("--deadline", review->deadline, "Wall-clock budget for the review (e.g. 55s, 4m)");
  command->footer(
      "One model call per card, asked through the run's provider: four scores from 1 to 5, each with a\n"
      "one-line reason. The review judges the cards and never changes them. It is kept in the run as\n"
      "review.json with each call's tokens and cost, the reports are written again with the scores on\n"
      "the cards, and `pipeline compare` shows them. Reviewing again replaces it; redoing stage 5 makes\n"
      "it stale (no longer shown). `pipeline run|resume --review` reviews once the run completes.\n"
      "\n"
      "Exit codes: 0 ok; 3 run not found or without cards (stage 5 not done); 4 provider error;\n"
      "5 run busy; 75 deadline or temporary errors (nothing is kept: review again).\n"
      "\n"
      "Example: pipeline review <run_id> --review-model openai/gpt-4o-mini");
  command->callback([&app, &options, review] {
    const auto deadline = parse_deadline(review->deadline);
    auto store = open_store(options);
    review_printed(options, run_settings(app, options), *store, review->run_id, review->model, deadline);
  });
}

}  // namespace pipeline::cli

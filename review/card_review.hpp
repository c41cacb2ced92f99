#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoints/run_store.hpp"
#include "lib/llm/chat.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/expected.hpp"

// A second opinion on a run's cards (`pipeline review`, `run --review`): one
// model call per card that scores it from 1 to 5 on four criteria, each with
// a one-line reason. The review is an artifact of the run beside the stages'
// (review.json), with the tokens and cost of every call; it judges the cards
// and never changes them. It sits below report/ (which shows the scores) and
// above stages/ (whose cards it reads), apart from the five stages and the
// chain, because no stage reads it and a run is complete without it.
namespace pipeline::review {

// The run file that holds the review, relative to the run directory.
inline constexpr const char* k_review_path = "review.json";
// Its prompt, lib/prompts/text/review.prompt.
inline constexpr const char* k_review_prompt = "review";

// The four criteria, in the order they are shown: novelty, actionability,
// brand_fit, specificity.
const std::vector<std::string>& criteria();

// "Brand fit" for "brand_fit".
std::string criterion_label(const std::string& criterion);

// The answer schema of one card's review: per criterion {score 1-5, reason}.
const nlohmann::json& review_schema();

// How the cards are reviewed.
struct ReviewOptions {
  std::string model;  // the model asked (--review-model, else the run's)
  double temperature = 0.2;
  int max_tokens = 1200;
};

// What the review prompt is filled with, besides each card.
struct ReviewInputs {
  std::string brand_text;      // brand::to_prompt_text of the run's snapshot
  std::string document_title;
  nlohmann::json cards;        // stage 5's output: one card per pattern
  std::string cards_sha256;    // of that output's file, so a later redo of stage 5 shows the review is stale
};

// The request that reviews the card of `pattern`, from `prompt`.
util::Expected<llm::ChatRequest> review_request(const prompts::PromptTemplate& prompt, const ReviewInputs& inputs,
                                                const std::string& pattern, const ReviewOptions& options);

// Reviews every card of `inputs`, the five requests in parallel (within the
// client's concurrency limit). The review as review.json holds it:
//   {"model", "reviewed_at", "prompt_sha256", "cards_sha256",
//    "cards": {<pattern>: {"title", "model", "usage", <criterion>: {"score", "reason"}...}},
//    "usage"}
// where usage is llm::Usage::to_json, per card and summed (cost_usd null when
// any call's cost is unknown). bad_input when there is no card; the first
// failed call's error otherwise.
util::Expected<nlohmann::json> review_cards(llm::ChatClient& client, const prompts::PromptTemplate& prompt,
                                            const ReviewInputs& inputs, const ReviewOptions& options,
                                            const util::CancelToken& cancel);

// The inputs of a review of a run: its brand snapshot and its stage 5 cards.
// bad_input, naming the run and the stage's state, when stage 5 is not done
// (the run has no cards to review).
util::Expected<ReviewInputs> load_review_inputs(const checkpoints::RunStore& store, const checkpoints::RunState& state);

// Reviews a run's cards and keeps the review as review.json among the run's
// files (in `state`, which the caller saves). The caller holds the run's lock.
util::Expected<nlohmann::json> review_run(checkpoints::RunStore& store, checkpoints::RunState& state,
                                          llm::ChatClient& client, const prompts::PromptTemplate& prompt,
                                          const ReviewOptions& options, const util::CancelToken& cancel);

// The run's review when it has one that reviewed its current cards; nullopt
// when it has none, or when stage 5 was redone after it (a stale review is
// not shown). An unreadable review.json is bad_input.
util::Expected<std::optional<nlohmann::json>> load_review(const checkpoints::RunStore& store,
                                                          const checkpoints::RunState& state);

// "novelty 4 · actionability 3 · brand fit 5 · specificity 4": a card's
// scores in one line; empty when `card_review` holds none.
std::string scores_line(const nlohmann::json& card_review);

}  // namespace pipeline::review

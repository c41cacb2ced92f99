#include "review/card_review.hpp"

#include <thread>

#include <fmt/format.h>

#include "lib/brand/brand.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/sha256.hpp"
#include "lib/util/time.hpp"
#include "stages/prompt_inputs.hpp"
#include "stages/run_files.hpp"
#include "stages/schema_builder.hpp"
#include "stages/stage_request.hpp"
#include "stages/stage_registry.hpp"
#include "stages/vocabulary.hpp"

namespace pipeline::review {
namespace {

using util::ErrorKind;
using util::fail;

constexpr int k_cards_stage = 5;

const stages::Stage& cards_stage() { return *stages::all_stages().at(k_cards_stage - 1); }

// The SHA-256 the checkpoint records for stage 5's output; empty when it has none.
std::string recorded_cards_sha256(const checkpoints::RunState& state) {
  const std::string path = stages::output_path(cards_stage());
  for (const auto& artifact : state.stage(k_cards_stage).artifacts) {
    if (artifact.path == path) return artifact.sha256;
  }
  return {};
}

// The patterns of `cards` that hold a card, in the stages' pattern order.
std::vector<std::string> reviewed_patterns(const nlohmann::json& cards) {
  std::vector<std::string> patterns;
  if (!cards.is_object()) return patterns;
  for (const auto& pattern : stages::vocabulary::patterns()) {
    if (cards.contains(pattern) && cards.at(pattern).is_object()) patterns.push_back(pattern);
  }
  return patterns;
}

}  // namespace

const std::vector<std::string>& criteria() {
  static const std::vector<std::string> list = {"novelty", "actionability", "brand_fit", "specificity"};
  return list;
}

std::string criterion_label(const std::string& criterion) {
  if (criterion == "brand_fit") return "brand fit";
  return criterion;
}

const nlohmann::json& review_schema() {
  namespace schema = stages::schema;
  static const nlohmann::json built = [] {
    const auto score = [](std::string_view what) {
      return schema::object({{"score", schema::integer(fmt::format("1 (poor) to 5 (excellent): {}", what), 1, 5)},
                             {"reason", schema::string("one sentence that points at the card", 300)}});
    };
    return schema::object({{"novelty", score("new for this brand and its shelf")},
                           {"actionability", score("the team could start the next steps next month")},
                           {"brand_fit", score("only this brand could make and sell it")},
                           {"specificity", score("concrete, consistent product, price and figures")}},
                          "A second opinion on one card: four scores with a reason each");
  }();
  return built;
}

util::Expected<llm::ChatRequest> review_request(const prompts::PromptTemplate& prompt, const ReviewInputs& inputs,
                                                const std::string& pattern, const ReviewOptions& options) {
  const auto card = inputs.cards.is_object() ? inputs.cards.value(pattern, nlohmann::json()) : nlohmann::json();
  if (!card.is_object()) return fail(ErrorKind::bad_input, fmt::format("the run has no {} card to review", pattern));
  const std::map<std::string, std::string> variables = {
      {"brand", stages::data_block("brand_profile", {}, inputs.brand_text)},
      {"document_title", inputs.document_title},
      {"pattern_label", stages::vocabulary::pattern_label(pattern)},
      {"card", stages::data_block("card", fmt::format("pattern=\"{}\"", pattern),
                                  card.dump(2, ' ', false, nlohmann::json::error_handler_t::replace))}};
  auto messages = stages::prompt_messages(prompt, variables, "review prompt");
  if (!messages) return messages.error();
  llm::ChatRequest request;
  request.messages = std::move(*messages);
  request.model = options.model;
  request.temperature = options.temperature;
  request.max_tokens = options.max_tokens;
  request.schema = review_schema();
  request.schema_name = "review";
  return request;
}

util::Expected<nlohmann::json> review_cards(llm::ChatClient& client, const prompts::PromptTemplate& prompt,
                                            const ReviewInputs& inputs, const ReviewOptions& options,
                                            const util::CancelToken& cancel) {
  const auto patterns = reviewed_patterns(inputs.cards);
  if (patterns.empty()) return fail(ErrorKind::bad_input, "there is no card to review");
  std::vector<llm::ChatRequest> requests;
  for (const auto& pattern : patterns) {
    auto request = review_request(prompt, inputs, pattern, options);
    if (!request) return request.error();
    requests.push_back(std::move(*request));
  }
  // One thread per card: the client's concurrency limit bounds the calls in flight.
  std::vector<std::optional<util::Expected<llm::ChatResult>>> results(requests.size());
  {
    std::vector<std::jthread> threads;
    for (size_t i = 0; i < requests.size(); ++i) {
      threads.emplace_back([&, i] { results[i].emplace(client.complete(requests[i], cancel)); });
    }
  }
  nlohmann::json cards = nlohmann::json::object();
  llm::Usage total;
  bool cost_known = true;
  for (size_t i = 0; i < patterns.size(); ++i) {
    auto& result = *results[i];
    if (!result) {
      return fail(result.error().kind, fmt::format("review of the {} card: {}", patterns[i], result.error().message));
    }
    const auto& card = inputs.cards.at(patterns[i]);
    nlohmann::json entry = {{"title", card.value("title", std::string())},
                            {"model", result->model.empty() ? options.model : result->model},
                            {"usage", result->usage.to_json()}};
    for (const auto& criterion : criteria()) entry[criterion] = result->json.at(criterion);
    cards[patterns[i]] = std::move(entry);
    cost_known = cost_known && result->usage.cost_usd.has_value();
    total += result->usage;
  }
  auto usage = total.to_json();
  if (!cost_known) usage["cost_usd"] = nullptr;
  return nlohmann::json{{"model", options.model},
                        {"reviewed_at", util::now_iso8601()},
                        {"prompt_sha256", util::sha256_hex(prompts::format_prompt(prompt))},
                        {"cards_sha256", inputs.cards_sha256},
                        {"cards", std::move(cards)},
                        {"usage", std::move(usage)}};
}

util::Expected<ReviewInputs> load_review_inputs(const checkpoints::RunStore& store, const checkpoints::RunState& state) {
  const auto& stage = cards_stage();
  const auto& record = state.stage(stage.number());
  if (record.status != checkpoints::StageStatus::done) {
    return fail(ErrorKind::bad_input,
                fmt::format("run {} has no cards to review: stage {} ({}) is {}, not done; finish it with `pipeline "
                            "resume {}`",
                            state.run_id, stage.number(), stage.name(), checkpoints::to_string(record.status),
                            state.run_id));
  }
  ReviewInputs inputs;
  inputs.document_title = state.input.title;
  auto cards_text = store.read_artifact(state.run_id, stages::output_path(stage));
  if (!cards_text) return cards_text.error();
  inputs.cards = util::parse_json_or_discarded(*cards_text);
  if (inputs.cards.is_discarded() || reviewed_patterns(inputs.cards).empty()) {
    return fail(ErrorKind::bad_input, fmt::format("run {} has no cards to review: {} holds none; redo it with "
                                                  "`pipeline resume {} --from {}`",
                                                  state.run_id, stages::output_path(stage), state.run_id, stage.name()));
  }
  inputs.cards_sha256 = recorded_cards_sha256(state);
  auto snapshot = store.read_artifact(state.run_id, stages::k_brand_path);
  if (!snapshot) return snapshot.error();
  auto json = util::parse_json(*snapshot);
  if (!json) {
    return fail(ErrorKind::bad_input, fmt::format("{}/{}: {}", store.location(state.run_id), stages::k_brand_path,
                                                  json.error().message));
  }
  auto profile = brand::parse_brand(*json, store.location(state.run_id) + "/" + stages::k_brand_path);
  if (!profile) return profile.error();
  inputs.brand_text = brand::to_prompt_text(*profile);
  return inputs;
}

util::Expected<nlohmann::json> review_run(checkpoints::RunStore& store, checkpoints::RunState& state,
                                          llm::ChatClient& client, const prompts::PromptTemplate& prompt,
                                          const ReviewOptions& options, const util::CancelToken& cancel) {
  auto inputs = load_review_inputs(store, state);
  if (!inputs) return inputs.error();
  auto review = review_cards(client, prompt, *inputs, options, cancel);
  if (!review) return review.error();
  auto written = store.write_artifact(state.run_id, k_review_path, review->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  if (!written) return written.error();
  std::erase_if(state.files, [](const auto& file) { return file.path == k_review_path; });
  state.files.push_back(*written);
  return review;
}

util::Expected<std::optional<nlohmann::json>> load_review(const checkpoints::RunStore& store,
                                                          const checkpoints::RunState& state) {
  bool recorded = false;
  for (const auto& file : state.files) recorded = recorded || file.path == k_review_path;
  if (!recorded) return std::optional<nlohmann::json>();
  auto text = store.read_artifact(state.run_id, k_review_path);
  if (!text) return text.error();
  auto json = util::parse_json_or_discarded(*text);
  if (!json.is_object() || !json.value("cards", nlohmann::json()).is_object()) {
    return fail(ErrorKind::bad_input, fmt::format("{} of run {} is not a review; make it again with `pipeline review "
                                                  "{}`",
                                                  k_review_path, state.run_id, state.run_id));
  }
  const auto cards_sha256 = recorded_cards_sha256(state);
  if (state.stage(k_cards_stage).status != checkpoints::StageStatus::done ||
      json.value("cards_sha256", std::string()) != cards_sha256) {
    return std::optional<nlohmann::json>();
  }
  return std::optional<nlohmann::json>(std::move(json));
}

std::string scores_line(const nlohmann::json& card_review) {
  std::string line;
  if (!card_review.is_object()) return line;
  for (const auto& criterion : criteria()) {
    const auto& entry = card_review.value(criterion, nlohmann::json());
    if (!entry.is_object() || !entry.value("score", nlohmann::json()).is_number_integer()) continue;
    line += fmt::format("{}{} {}", line.empty() ? "" : " · ", criterion_label(criterion), entry.at("score").get<int>());
  }
  return line;
}

}  // namespace pipeline::review

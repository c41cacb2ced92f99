#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>

#include <fmt/format.h>

#include "lib/llm/json_schema.hpp"
#include "lib/util/sha256.hpp"
#include "review/card_review.hpp"
#include "stages/run_files.hpp"
#include "stages/stage_registry.hpp"
#include "stages/vocabulary.hpp"
#include "tests/support/memory_chat_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sample_run.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;

namespace {

struct ReviewSampleRun {
  testing::TempDir dir;
  std::unique_ptr<checkpoints::RunStore> store = checkpoints::make_file_run_store(dir / "runs");
  checkpoints::RunState state = testing::make_sample_run(*store, dir.path(), "sample-acme");
};

prompts::PromptTemplate review_prompt() { return prompts::load_prompt(review::k_review_prompt).value_or_throw(); }

review::ReviewInputs sample_inputs() {
  review::ReviewInputs inputs;
  inputs.brand_text = "Acme Foods bakes bread rolls.";
  inputs.document_title = "Click and collect";
  inputs.cards = testing::sample_output(5);
  inputs.cards_sha256 = "abc";
  return inputs;
}

// An answer that gives every criterion `score`, and reports `cost` (none: unknown).
llm::ChatResult scored_answer(int score, std::optional<double> cost) {
  llm::ChatResult result;
  for (const auto& criterion : review::criteria()) {
    result.json[criterion] = {{"score", score}, {"reason", fmt::format("{} scored {}", criterion, score)}};
  }
  result.content = result.json.dump();
  result.model = "judge-1";
  result.usage.prompt_tokens = 100;
  result.usage.completion_tokens = 20;
  result.usage.cost_usd = cost;
  return result;
}

}  // namespace

TEST_CASE("review_request: the card in a data block of the request part, the schema and the model asked") {
  const auto request = review::review_request(review_prompt(), sample_inputs(), "convenience", {"cheap-model", 0.2, 900});
  REQUIRE(request);
  CHECK(request->model == "cheap-model");
  CHECK(request->max_tokens == 900);
  CHECK(request->schema_name == "review");
  REQUIRE(request->messages.size() == 3);
  CHECK(request->messages[0].content.find("{{") == std::string::npos);
  CHECK(request->messages[1].content.find("<brand_profile>\nAcme Foods bakes bread rolls.") != std::string::npos);
  CHECK(request->messages[1].cache_break);
  CHECK(request->messages[2].content.find("<card pattern=\"convenience\">") != std::string::npos);
  CHECK(request->messages[2].content.find("Morning Rolls from the station locker") != std::string::npos);
  // The five requests share everything before the card.
  const auto other = review::review_request(review_prompt(), sample_inputs(), "premiumisation", {"cheap-model", 0.2, 900});
  REQUIRE(other);
  CHECK(other->messages[0].content == request->messages[0].content);
  CHECK(other->messages[1].content == request->messages[1].content);
  CHECK(other->messages[2].content != request->messages[2].content);
}

TEST_CASE("review_cards: one call per card, fake answers valid against the schema, usage per card and summed") {
  testing::MemoryChatClient client;
  const auto inputs = sample_inputs();
  auto review = review::review_cards(client, review_prompt(), inputs, {"judge", 0.2, 1200}, util::CancelToken());
  REQUIRE(review);
  CHECK(client.requests().size() == 5);
  CHECK(review->at("model") == "judge");
  CHECK(review->at("cards_sha256") == "abc");
  CHECK(review->at("prompt_sha256").get<std::string>().size() == 64);
  const auto& cards = review->at("cards");
  CHECK(cards.size() == 5);
  for (const auto& pattern : stages::vocabulary::patterns()) {
    CAPTURE(pattern);
    REQUIRE(cards.contains(pattern));
    CHECK(cards.at(pattern).at("title") == inputs.cards.at(pattern).at("title"));
    for (const auto& criterion : review::criteria()) {
      const int score = cards.at(pattern).at(criterion).at("score").get<int>();
      CHECK(score >= 1);
      CHECK(score <= 5);
      CHECK_FALSE(cards.at(pattern).at(criterion).at("reason").get<std::string>().empty());
    }
  }
  for (const auto& request : client.requests()) {
    auto answer = testing::MemoryChatClient::default_answer(request);
    CHECK(llm::validate_json(review::review_schema(), answer.json).empty());
  }
}

TEST_CASE("review_cards: the total's cost is unknown when one call's is, and each card keeps its own usage") {
  testing::MemoryChatClient client;
  std::atomic<int> calls{0};
  client.set_handler([&](const llm::ChatRequest&, const util::CancelToken&) -> util::Expected<llm::ChatResult> {
    return scored_answer(4, ++calls == 3 ? std::nullopt : std::optional<double>(0.001));
  });
  auto review = review::review_cards(client, review_prompt(), sample_inputs(), {"judge", 0.2, 1200}, util::CancelToken());
  REQUIRE(review);
  CHECK(review->at("usage").at("prompt_tokens") == 500);
  CHECK(review->at("usage").at("completion_tokens") == 100);
  CHECK(review->at("usage").at("cost_usd").is_null());
  int known = 0;
  for (const auto& [pattern, card] : review->at("cards").items()) {
    known += card.at("usage").at("cost_usd").is_number();
    CHECK(card.at("model") == "judge-1");
    CHECK(review::scores_line(card) == "novelty 4 · actionability 4 · brand fit 4 · specificity 4");
  }
  CHECK(known == 4);
}

TEST_CASE("review_cards: no card is bad_input, and a failed call fails the review naming the card") {
  testing::MemoryChatClient client;
  auto inputs = sample_inputs();
  inputs.cards = nlohmann::json::object();
  auto none = review::review_cards(client, review_prompt(), inputs, {"judge", 0.2, 1200}, util::CancelToken());
  REQUIRE_FALSE(none);
  CHECK(none.error().kind == util::ErrorKind::bad_input);
  CHECK(client.requests().empty());

  client.set_handler([](const llm::ChatRequest& request, const util::CancelToken&) -> util::Expected<llm::ChatResult> {
    if (request.messages.back().content.find("pattern=\"occasion_expansion\"") != std::string::npos) {
      return util::fail(util::ErrorKind::provider, "model refused");
    }
    return scored_answer(3, 0.0);
  });
  auto failed = review::review_cards(client, review_prompt(), sample_inputs(), {"judge", 0.2, 1200}, util::CancelToken());
  REQUIRE_FALSE(failed);
  CHECK(failed.error().kind == util::ErrorKind::provider);
  CHECK(failed.error().message == "review of the occasion_expansion card: model refused");
}

TEST_CASE("review_run keeps review.json among the run's files and never changes the cards") {
  ReviewSampleRun run;
  const std::string cards_path = stages::output_path(*stages::find_stage("opportunities"));
  const auto cards_before = run.store->read_artifact(run.state.run_id, cards_path).value_or_throw();
  testing::MemoryChatClient client;
  client.set_handler([](const llm::ChatRequest&, const util::CancelToken&) -> util::Expected<llm::ChatResult> {
    return scored_answer(2, 0.002);
  });
  auto review = review::review_run(*run.store, run.state, client, review_prompt(), {"judge", 0.2, 1200}, util::CancelToken());
  REQUIRE(review);
  CHECK(run.store->read_artifact(run.state.run_id, cards_path).value_or_throw() == cards_before);
  CHECK(review->at("cards_sha256") == util::sha256_hex(cards_before));
  int kept = 0;
  for (const auto& file : run.state.files) {
    if (file.path != review::k_review_path) continue;
    ++kept;
    CHECK(file.sha256 == util::sha256_hex(run.store->read_artifact(run.state.run_id, review::k_review_path).value_or_throw()));
  }
  CHECK(kept == 1);
  run.store->save(run.state).value_or_throw();

  // Loaded back from the store, it is the run's current review.
  auto state = run.store->load(run.state.run_id).value_or_throw();
  auto loaded = review::load_review(*run.store, state);
  REQUIRE(loaded);
  REQUIRE(loaded->has_value());
  CHECK((**loaded).at("cards").at("convenience").at("specificity").at("score") == 2);
  CHECK(std::abs((**loaded).at("usage").at("cost_usd").get<double>() - 0.01) < 1e-9);

  // A second review replaces it: still one file.
  REQUIRE(review::review_run(*run.store, state, client, review_prompt(), {"judge", 0.2, 1200}, util::CancelToken()));
  CHECK(std::count_if(state.files.begin(), state.files.end(),
                      [](const auto& file) { return file.path == review::k_review_path; }) == 1);

  // Stage 5 redone: the review no longer matches its cards and is not shown.
  for (auto& artifact : state.stage(5).artifacts) {
    if (artifact.path == cards_path) artifact.sha256 = std::string(64, '0');
  }
  auto stale = review::load_review(*run.store, state);
  REQUIRE(stale);
  CHECK_FALSE(stale->has_value());
}

TEST_CASE("a run without a review has none to load, and one without cards cannot be reviewed") {
  ReviewSampleRun run;
  auto none = review::load_review(*run.store, run.state);
  REQUIRE(none);
  CHECK_FALSE(none->has_value());

  run.state.stage(5).status = checkpoints::StageStatus::stale;
  testing::MemoryChatClient client;
  auto refused = review::review_run(*run.store, run.state, client, review_prompt(), {"judge", 0.2, 1200}, util::CancelToken());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == util::ErrorKind::bad_input);
  CHECK(refused.error().message.find("run sample-acme has no cards to review: stage 5 (opportunities) is stale") == 0);
  CHECK(client.requests().empty());
}

TEST_CASE("criteria and the schema name the same four criteria, scored 1 to 5") {
  const auto& schema = review::review_schema();
  CHECK(schema.at("required").size() == review::criteria().size());
  for (const auto& criterion : review::criteria()) {
    CAPTURE(criterion);
    const auto& score = schema.at("properties").at(criterion).at("properties").at("score");
    CHECK(score.at("minimum") == 1);
    CHECK(score.at("maximum") == 5);
  }
  nlohmann::json six = {{"score", 6}, {"reason", "too high"}};
  nlohmann::json answer = scored_answer(3, 0.0).json;
  answer["novelty"] = six;
  CHECK_FALSE(llm::validate_json(schema, answer).empty());
  CHECK(review::criterion_label("brand_fit") == "brand fit");
  CHECK(review::scores_line(nlohmann::json()) == "");
}

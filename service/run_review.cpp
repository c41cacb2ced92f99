#include "service/run_review.hpp"

#include <fmt/format.h>

#include "lib/llm/chat.hpp"
#include "lib/llm/client_config.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "lib/util/error.hpp"
#include "report/report.hpp"
#include "review/card_review.hpp"

namespace pipeline::service {

RunReview review_run(const RunSettings& settings, checkpoints::RunStore& store, const std::string& run_id,
                     const std::string& review_model, std::optional<util::Clock::time_point> deadline,
                     std::unique_ptr<checkpoints::RunLock> lock) {
  if (!lock) lock = store.lock(run_id).value_or_throw();
  auto state = store.load(run_id).value_or_throw();
  // Refused before a key is needed: a run without cards has nothing to review.
  (void)review::load_review_inputs(store, state).value_or_throw();
  // The provider given now wins over the one the run keeps, as for resume,
  // without being recorded: a review changes nothing of the run's settings.
  auto provider = state;
  apply_explicit_settings(settings, provider);
  auto config = run_client_config(settings, provider, std::nullopt, spent_usd(state));
  review::ReviewOptions options;
  options.model = review_model.empty() ? config.model : review_model;
  config.model = options.model;
  require_key(config);
  auto client = llm::make_chat_client(config);
  const auto prompt = prompts::load_prompt(review::k_review_prompt).value_or_throw();
  auto review = review::review_run(store, state, *client, prompt, options, util::CancelToken(deadline));
  if (!review) {
    throw util::FatalError(review.error().kind, fmt::format("review of run {}: {}", run_id, review.error().message));
  }
  if (state.status == checkpoints::RunStatus::completed) report::write_reports(store, state).value_or_throw();
  store.save(state).value_or_throw();
  store.flush(run_id).value_or_throw();
  return {std::move(*review), std::move(state)};
}

}  // namespace pipeline::service

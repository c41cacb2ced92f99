#pragma once

// `pipeline review <run_id>` and `run|resume --review`: a second opinion on a
// run's cards (review/card_review.hpp), asked through the run's provider and
// kept in the run, whose reports then show the scores.

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "checkpoints/run_store.hpp"
#include "lib/util/time.hpp"
#include "service/run_settings.hpp"

namespace pipeline::service {

// What review_run did.
struct RunReview {
  nlohmann::json review;  // as review.json holds it
  checkpoints::RunState state;
};

// Reviews the cards of run `run_id` under its lock (taken here unless the
// caller passes it) with `review_model`, or the run's model when that is
// empty, through the run's provider or the one `settings` give explicitly; keeps review.json among the run's files, writes the reports again
// when the run is completed, and saves the run. Throws FatalError: bad_input
// (3) for a run without cards, and the call's own error kind otherwise.
RunReview review_run(const RunSettings& settings, checkpoints::RunStore& store, const std::string& run_id,
                     const std::string& review_model, std::optional<util::Clock::time_point> deadline,
                     std::unique_ptr<checkpoints::RunLock> lock = nullptr);

}  // namespace pipeline::service

#pragma once

#include <string>

#include "checkpoints/run_store.hpp"

namespace pipeline::testing {

// A completed run of the hand-written samples (stage_samples.hpp), as the
// chain leaves one: the sample case study as a PDF in `dir`, the sample brand
// (Acme Foods), every stage done with its sample output and its artifacts,
// stage 5's warnings about one card, plausible figures (time, tokens and
// money per stage and per request, model and structured-output rung), and
// report.md and report.html written. Returns the saved state.
checkpoints::RunState make_sample_run(checkpoints::RunStore& store, const std::string& dir, const std::string& run_id);

// The warning make_sample_run records for the convenience card, without its part name.
inline constexpr const char* k_sample_card_warning =
    "$.title: \"Morning Rolls from the station locker\" is longer than the plan's title";

}  // namespace pipeline::testing

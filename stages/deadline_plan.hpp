#pragma once

#include <optional>

#include "checkpoints/run_state.hpp"

namespace pipeline::stages {

// How long a stage is expected to take, from this run's own measurements: a
// done stage's own time; for a stage not done, the longest of its own cut-off
// attempt (a lower bound) and the stages done in the run; nullopt when
// nothing is known yet.
std::optional<double> expected_stage_seconds(const checkpoints::RunState& state, int number);

// Whether to start a stage with `seconds_left` of the budget. The first stage
// of an invocation always starts, or no run could ever progress; later ones
// only when they are expected to finish in time.
bool should_start_stage(const checkpoints::RunState& state, int number, std::optional<double> seconds_left,
                        bool first_in_invocation);

// Model latency varies: a stage starts only if it fits with this much to spare.
inline constexpr double k_estimate_margin = 1.1;

// A stage abandoned at the deadline this many times in a row, each time with
// a whole invocation's budget, cannot fit the budget.
inline constexpr int k_max_deadline_abandons = 2;

}  // namespace pipeline::stages

#include "stages/deadline_plan.hpp"

#include <algorithm>

namespace pipeline::stages {

std::optional<double> expected_stage_seconds(const checkpoints::RunState& state, int number) {
  const auto& own = state.stage(number);
  if (own.status == checkpoints::StageStatus::done && own.duration_s) return *own.duration_s;
  // A stage not done may have been cut off early: its time is a lower bound.
  std::optional<double> estimate = own.duration_s;
  for (const auto& record : state.stages) {
    if (record.status == checkpoints::StageStatus::done && record.duration_s) {
      estimate = std::max(estimate.value_or(0.0), *record.duration_s);
    }
  }
  return estimate;
}

bool should_start_stage(const checkpoints::RunState& state, int number, std::optional<double> seconds_left,
                        bool first_in_invocation) {
  if (first_in_invocation || !seconds_left) return true;
  const auto expected = expected_stage_seconds(state, number);
  return !expected || *expected * k_estimate_margin <= *seconds_left;
}

}  // namespace pipeline::stages

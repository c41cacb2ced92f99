#include "stages/deadline_plan.hpp"

#include <algorithm>

namespace pipeline::stages {

std::optional<double> expected_stage_seconds(const checkpoints::RunState& state, int number) {
  if (const auto& own = state.stage(number).duration_s) return *own;
  std::optional<double> longest;
  for (const auto& record : state.stages) {
    if (record.status == checkpoints::StageStatus::done && record.duration_s) {
      longest = std::max(longest.value_or(0.0), *record.duration_s);
    }
  }
  return longest;
}

bool should_start_stage(const checkpoints::RunState& state, int number, std::optional<double> seconds_left,
                        bool first_in_invocation) {
  if (first_in_invocation || !seconds_left) return true;
  const auto expected = expected_stage_seconds(state, number);
  return !expected || *expected <= *seconds_left;
}

}  // namespace pipeline::stages

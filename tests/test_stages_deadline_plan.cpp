#include <doctest/doctest.h>

#include "stages/deadline_plan.hpp"

using namespace pipeline;
using checkpoints::StageStatus;

namespace {

checkpoints::RunState five_stages() {
  checkpoints::RunState state;
  for (int n = 1; n <= 5; ++n) {
    checkpoints::StageRecord record;
    record.number = n;
    state.stages.push_back(record);
  }
  return state;
}

}  // namespace

TEST_CASE("nothing measured yet: no estimate, and every stage may start") {
  const auto state = five_stages();
  CHECK_FALSE(stages::expected_stage_seconds(state, 1));
  CHECK(stages::should_start_stage(state, 2, 1.0, false));
}

TEST_CASE("a done stage's estimate is its own time; one not done takes the longest of its cut-off try and the done") {
  auto state = five_stages();
  state.stage(1).status = StageStatus::done;
  state.stage(1).duration_s = 8;
  state.stage(2).status = StageStatus::done;
  state.stage(2).duration_s = 24;
  CHECK(*stages::expected_stage_seconds(state, 1) == doctest::Approx(8));
  CHECK(*stages::expected_stage_seconds(state, 3) == doctest::Approx(24));
  state.stage(3).duration_s = 40;  // an abandoned attempt ran 40 s
  CHECK(*stages::expected_stage_seconds(state, 3) == doctest::Approx(40));
  state.stage(3).duration_s = 0.1;  // a call refused at once says little
  CHECK(*stages::expected_stage_seconds(state, 3) == doctest::Approx(24));
}

TEST_CASE("a later stage starts only when it is expected to fit; the first always starts") {
  auto state = five_stages();
  state.stage(1).status = StageStatus::done;
  state.stage(1).duration_s = 20;
  CHECK(stages::should_start_stage(state, 2, 25.0, false));
  CHECK_FALSE(stages::should_start_stage(state, 2, 21.0, false));  // fits, but with less than the margin to spare
  CHECK_FALSE(stages::should_start_stage(state, 2, 15.0, false));
  CHECK(stages::should_start_stage(state, 2, 15.0, true));
  CHECK(stages::should_start_stage(state, 2, std::nullopt, false));
}

#pragma once

namespace pipeline::testing {

// The five stages' names in order, as checkpoints record them.
inline constexpr const char* k_stage_names[] = {"mechanisms", "signals", "lessons", "contextualize", "opportunities"};

}  // namespace pipeline::testing

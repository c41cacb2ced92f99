#pragma once

#include <string>

#include "checkpoints/run_store.hpp"

namespace pipeline::testing {

// A valid checkpoint of a run just created: five pending stages, no files.
checkpoints::RunState sample_run_state(const std::string& run_id);

// Creates the run in `store` with three input files and stages 1 and 2
// done, their artifacts written through the store, and saves it. The
// creation's lock is kept in `lock` when given, else released.
checkpoints::RunState run_with_two_done_stages(checkpoints::RunStore& store, const std::string& run_id,
                                               std::unique_ptr<checkpoints::RunLock>* lock = nullptr);

}  // namespace pipeline::testing

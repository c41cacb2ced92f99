#pragma once

#include <functional>
#include <optional>
#include <string>

#include "checkpoints/run_state.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::checkpoints {

// True for the reports a completed run writes from its stages' outputs
// (report.md, report.html): any redo writes them anew.
bool is_report_path(const std::string& path);

// The SHA-256 of a run's file by its path, nullopt when the file is not
// there; an error when it cannot be read.
using FileDigest = std::function<util::Expected<std::optional<std::string>>(const std::string& path)>;

// What RunStore::load promises to check, for every store: each of the run's
// files (the reports too unless redo_from is 1 to 5) and each artifact of a
// done stage before redo_from has its recorded SHA-256. bad_input naming the
// file and how to repair the run; `location` is the run's place for messages.
util::Expected<void> verify_run_contents(const RunState& state, int redo_from, const std::string& location,
                                         const FileDigest& digest_of);

// The paths verify_run_contents will ask about, in the order it asks.
std::vector<std::string> paths_to_verify(const RunState& state, int redo_from);

}  // namespace pipeline::checkpoints

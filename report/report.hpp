#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoints/run_store.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::report {

// report.md: every stage's Markdown and the cards, in order; a stage missing
// from `outputs` (by stage number) is marked as not done yet. A stage's
// `warnings` (style rules its output still breaks) are listed under it. A
// `review` (review::load_review) adds a last section with each card's scores.
std::string render_report(const std::string& run_id, const std::map<int, nlohmann::json>& outputs,
                          const std::map<int, std::vector<std::string>>& warnings = {},
                          const nlohmann::json& review = nlohmann::json());

// The outputs of the run's done stages, by stage number, read from the store;
// an output that is not valid JSON is bad_input naming the stage to redo.
util::Expected<std::map<int, nlohmann::json>> load_stage_outputs(const checkpoints::RunStore& store,
                                                                 const checkpoints::RunState& state);

// bad_input naming the first stage that is not done, for a run whose report
// would miss part of its content.
util::Expected<void> check_run_complete(const checkpoints::RunState& state);

// The report as a PDF laid out by MuPDF (no browser needed), titled with the
// brand and the document; with the review's scores on the cards when `review` is one.
util::Expected<std::string> render_pdf_report(const checkpoints::RunState& state,
                                              const std::map<int, nlohmann::json>& outputs,
                                              const nlohmann::json& review = nlohmann::json());

// Writes report.md and report.html of a run whose five stages are done, with
// its current review if it has one (review::load_review), and records both,
// with their SHA-256, among the run's files (in `state`, which the caller saves).
util::Expected<void> write_reports(checkpoints::RunStore& store, checkpoints::RunState& state);

}  // namespace pipeline::report

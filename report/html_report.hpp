#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "checkpoints/run_state.hpp"

namespace pipeline::report {

// Who lays the page out.
enum class HtmlReportTarget {
  browser,  // report.html: screen and print style sheets, collapsible analyses
  pdf,      // MuPDF's HTML engine (lib/pdf/html_pdf.hpp): the CSS it understands, every section open, a card per page
};

// The report of a run as one self-contained HTML page: inline CSS and an
// inline SVG chart, no script, nothing fetched. First the five cards of
// stage 5 (title, pattern badge, the three-part description, price point,
// retail figures, next steps, the shelf sentence, buyer questions, what ties
// it to the brand), then the analyses of stages 1 to 4, then the provenance
// (document, brand, models and structured-output rungs per stage and part,
// the prompts' SHA-256, tool version) and a chart of time, tokens and money
// per stage. A stage's warnings are shown beside what they concern: a card's
// on the card, the others in the stage's section. Every text from the model,
// the document or the brand is escaped. `outputs` holds the stage outputs by
// number; a missing stage is shown as not done. `review`, the run's current
// review (review::load_review) or null, adds its scores and reasons to each card.
std::string render_html_report(const checkpoints::RunState& state, const std::map<int, nlohmann::json>& outputs,
                               HtmlReportTarget target = HtmlReportTarget::browser,
                               const nlohmann::json& review = nlohmann::json());

}  // namespace pipeline::report

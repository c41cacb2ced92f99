#pragma once

#include <string>
#include <vector>

#include "cli/app.hpp"
#include "report/differentiation.hpp"

namespace pipeline::cli {

// The lines `pipeline status <batch_id>` shows for the batch's
// differentiation: per document, every pair of brands with its score and
// the patterns flagged, or why a pair has no figures yet.
std::string batch_differentiation_text(const std::vector<report::DocumentDifferentiation>& documents);

}  // namespace pipeline::cli

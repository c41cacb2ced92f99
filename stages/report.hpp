#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pipeline::stages {

// report.md: every stage's Markdown and the cards, in order; a stage missing
// from `outputs` (by stage number) is marked as not done yet. A stage's
// `warnings` (style rules its output still breaks) are listed under it.
std::string render_report(const std::string& run_id, const std::map<int, nlohmann::json>& outputs,
                          const std::map<int, std::vector<std::string>>& warnings = {});

}  // namespace pipeline::stages

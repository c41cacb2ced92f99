#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace pipeline::stages {

// report.md: every stage's Markdown and the cards, in order; a stage missing
// from `outputs` (by stage number) is marked as not done yet.
std::string render_report(const std::string& run_id, const std::map<int, nlohmann::json>& outputs);

}  // namespace pipeline::stages

#pragma once

#include <string>

#include "report/differentiation.hpp"

namespace pipeline::report {

// `pipeline compare --html`: one self-contained HTML page (inline CSS, no
// scripts, nothing fetched) that sets the two runs' cards side by side,
// pattern by pattern, with each pair's similarity, grounding and flag, the
// overall score and the notes. Every text from a card, a profile or a
// document name is escaped.
std::string compare_page(const Differentiation& result);

}  // namespace pipeline::report

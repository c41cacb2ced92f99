#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "lib/brand/market_facts.hpp"
#include "stages/brand_facts.hpp"

// A stage 5 card made whole: the writer's answer (card_answer_schema) plus
// what follows from facts the run already holds, so the model answers each
// fact once and the card cannot contradict its plan or itself.
namespace pipeline::stages {

// The card of `pattern` from `answer` and its `planned` concept (one entry of
// the plan). Taken from the concept: mechanism_id, format, brand_anchor and
// feasibility.price_tier. Taken from the brand: retail.currency (the
// answer's only when the brand's is unknown) and, when the writer chose one
// of the profile's current prices, the comparable's pack and price. Written
// in code: pattern, retail.pack (the format), price_point (price_line), the
// comparable's price_ratio (compare_prices) and flags (price_flags), the
// launch's currency and beyond_limits (launch_flags against `limits`); an
// investment range given high end first is put the right way round. The answer's own wording
// is kept as it is.
nlohmann::json assemble_card(const nlohmann::json& answer, const std::string& pattern, const nlohmann::json& planned,
                             const BrandFacts& facts, const brand::LaunchLimits& limits);

}  // namespace pipeline::stages

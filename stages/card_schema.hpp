#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "stages/brand_facts.hpp"

// The two shapes of a stage 5 card: what its writer answers, and the whole
// card the stage outputs. The whole card adds what the program derives
// rather than asks a second time (stages/card_assembly.hpp): the pattern,
// mechanism, format, price tier and brand anchor of the card's planned
// concept, the currency of the brand, the price line, the comparable
// product's pack and price, and the launch's limits.
namespace pipeline::stages {

// The three kinds of next step every card has, with what each means, in the order they are shown.
const std::vector<std::pair<std::string, std::string>>& step_kinds();

// "value", "mainstream", "premium".
const std::vector<std::string>& price_tiers();

// How the writer names its comparable product when the profile states
// current prices: "<product> (<pack>)", one per current price.
std::vector<std::string> comparable_labels(const BrandFacts& facts);

// What the writer of one card answers for this brand: the same for the
// five cards of a run, byte for byte, so a provider can cache it with the
// prompt after it. Asks retail.currency only when the brand's currency is
// unknown, and offers the profile's current prices as the comparable
// product's only choices when it states them (else the writer estimates one).
nlohmann::json card_answer_schema(const BrandFacts& facts);

// The whole card of `pattern` as the stage outputs it.
nlohmann::json card_schema(const std::string& pattern);

}  // namespace pipeline::stages

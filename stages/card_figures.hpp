#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "stages/brand_facts.hpp"

// A card's figures read against each other and against the brand: its price
// beside the comparable current product, its rate of sale and margin beside
// stage 4's retail thresholds, its launch beside the brand's limits. Each
// check returns its problems in words for a re-ask, empty when there are none.
namespace pipeline::stages {

// How much product a pack holds, in one of three units: "g" (weights), "ml"
// (volumes) or "piece" (a count). "4 x 125 g" is 500 g, "1.5 l" is 1500 ml,
// "12 bars" is 12 pieces.
struct PackQuantity {
  double amount = 0;
  std::string unit;
};

// The quantity a pack text names, or nothing when it names none this reads.
std::optional<PackQuantity> pack_quantity(std::string_view pack);

// A card's price line: "GBP 3.49 for 6 x 20 g snack pack".
std::string price_line(double price, const std::string& currency, const std::string& pack);

// A price set beside another: the ratio of the two and what it is taken
// over ("per 100 g", "per 100 ml", "per piece" when both packs give a
// quantity of the same unit, else "per pack").
struct PriceComparison {
  double ratio = 0;
  std::string per;
};

PriceComparison compare_prices(double price, const std::string& pack, double other_price, const std::string& other_pack);

// A comparable product this far from the card's price, either way, is no
// comparable: the card is priced three times above or below it.
inline constexpr double k_most_price_ratio = 3.0;

// The retail thresholds and launch limits of stage 4's output, each empty
// when stage 4 does not give it.
struct RetailThresholds {
  std::optional<double> units_per_store_per_week;
  std::optional<double> gross_margin_pct;
};
RetailThresholds retail_thresholds(const nlohmann::json& contextualize_output);
brand::LaunchLimits launch_limits(const nlohmann::json& contextualize_output);

// What is wrong with a card's price against its comparable (card.comparable,
// as assembled), one sentence each: three times away or more; a
// premiumisation card or a premium tier at or below the comparable; a value
// tier above it; a value brand's premium card whose tier reason is too short
// to say what earns the premium. The card is flagged, not asked again: the
// writer answered the price and the comparable once each, and a buyer sees
// the flag beside them.
std::vector<std::string> price_flags(const nlohmann::json& card, const std::string& pattern, const BrandFacts& facts);

// A card below stage 4's rate of sale or margin that does not say why
// (retail.below_threshold_reason).
std::string threshold_problems(const nlohmann::json& card, const RetailThresholds& thresholds);

// A card's launch object that does not hold together: new equipment needed
// but not named, or a cannibalised line the profile does not have.
std::string launch_problems(const nlohmann::json& card, const BrandFacts& facts);

// What puts a card beyond the brand's launch limits, one sentence each (the
// card is kept and flagged, not asked again: a large idea may be worth a
// larger budget, and the team decides).
std::vector<std::string> launch_flags(const nlohmann::json& card, const brand::LaunchLimits& limits,
                                      const std::string& currency);

// The card's comparable as one line for a reader: "Grass-fed milk, 2 litre
// bottle: 1.85 GBP (brand profile); this card is 1.35 times its price per
// 100 ml" (the ratio only when it is known).
std::string comparable_line(const nlohmann::json& card);

}  // namespace pipeline::stages

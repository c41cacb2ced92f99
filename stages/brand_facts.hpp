#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/brand/market_facts.hpp"

// What a brand profile tells stages 4 and 5 about what the brand can make and
// sell, read by the program rather than left to the model: the names a card
// must anchor to, and the conditions that rule whole kinds of card out.
namespace pipeline::stages {

struct BrandFacts {
  std::vector<std::string> product_lines;      // the portfolio, then the recent innovations
  std::vector<std::string> customer_segments;  // the target customers
  bool cold_chain = false;      // it makes or moves chilled or frozen goods
  bool direct_channel = false;  // it sells to consumers itself (own website, delivery, subscription)
  bool value_brand = false;     // its positioning is about low prices
  std::string currency;         // ISO 4217; empty when neither stated nor known from the country
  std::string price_position;   // "value", "mainstream" or "premium"
  std::vector<std::string> channels;                 // where the brand sells (brand::sales_channels())
  std::vector<brand::CurrentPrice> current_prices;   // as stated; empty when not
  brand::LaunchLimits launch_limits;                 // as stated; stage 4 sets the rest
  std::vector<std::string> inferred;  // one sentence per fact guessed from words, naming the guess
};

// The facts of a profile as brand::BrandProfile::json holds it. What the
// profile states (brand/market_facts.hpp) holds; the rest is inferred from its
// words (see brand_facts.cpp) and listed in `inferred`. A null or partial
// profile gives the cautious answer: no cold chain, no direct channel.
BrandFacts brand_facts(const nlohmann::json& profile);

// The facts as lines for a person: each with "(stated)" or "(inferred: ...)".
std::string facts_summary(const BrandFacts& facts);

// How a card may be stored: "ambient", and "chilled" and "frozen" only with a cold chain.
std::vector<std::string> storage_options(const BrandFacts& facts);

// Where a card may be sold: stores, online retailers and foodservice, and
// "direct_to_consumer" and "subscription" only with a direct channel.
std::vector<std::string> channel_options(const BrandFacts& facts);

// The feasibility rules that follow from the facts, as plain lines for a
// prompt: what is ruled out for this brand and why.
std::string feasibility_rules(const BrandFacts& facts);

// `schema` held to the brand: every "brand_anchor" object (a property, or a
// definition of that name in "$defs") has its product_line and
// customer_segment suggest the profile's names, every "storage" and
// "channel" enumeration keeps only the options the brand has.
nlohmann::json limit_brand_refs(nlohmann::json schema, const BrandFacts& facts);

}  // namespace pipeline::stages

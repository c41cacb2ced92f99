#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

// What a brand profile may state outright about how the brand sells: its
// currency, price position, channels, cold chain and current shelf prices.
// Each is optional; a fact not stated is inferred from the profile's words
// later (stages/brand_facts.hpp), and said to be.
namespace pipeline::brand {

struct CurrentPrice {
  std::string product;  // the profile's name of the product
  std::string pack;     // its pack, e.g. "500 g tub"
  double price = 0;     // shelf price of one pack, in the profile's currency
};

// The largest launch the brand will take on: stage 4 states these limits and
// stage 5 flags a card beyond them.
struct LaunchLimits {
  std::optional<double> largest_investment;    // in the brand's currency
  std::optional<int> longest_months_to_launch;  // from go decision to shelf
};

struct MarketFacts {
  std::string currency;                     // ISO 4217 code; empty when not stated
  std::string price_position;               // "value", "mainstream" or "premium"; empty when not stated
  std::vector<std::string> channels;        // from sales_channels(); empty when not stated
  std::optional<bool> cold_chain;           // not stated: nullopt
  std::vector<CurrentPrice> current_prices; // empty when not stated
  LaunchLimits launch_limits;               // each part empty when not stated
};

// The fields a profile states them in.
inline constexpr std::string_view k_market_fact_fields[] = {"currency",   "price_position", "channels",
                                                            "cold_chain", "current_prices", "launch_limits"};

// The longest time to launch a profile may state, in months.
inline constexpr int k_most_months_to_launch_limit = 60;

// True for an active ISO 4217 currency code such as "GBP" (not merely three capitals).
bool is_currency_code(std::string_view code);

// "value", "mainstream", "premium".
const std::vector<std::string>& price_positions();

// Where a product can be sold: "store_retail", "online_retail", "foodservice",
// "direct_to_consumer", "subscription".
const std::vector<std::string>& sales_channels();

// The facts `profile` states; each field that is present but wrong adds a
// line to `problems` ("field \"currency\" ...") and counts as not stated.
MarketFacts read_market_facts(const nlohmann::json& profile, std::vector<std::string>& problems);

}  // namespace pipeline::brand

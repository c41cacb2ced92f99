#include "stages/brand_facts.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "stages/schema_builder.hpp"
#include "lib/util/text.hpp"

namespace pipeline::stages {
namespace {


std::vector<std::string> strings_of(const nlohmann::json& profile, const char* field) {
  std::vector<std::string> out;
  auto it = profile.find(field);
  if (it == profile.end() || !it->is_array()) return out;
  for (const auto& item : *it)
    if (item.is_string() && !item.get<std::string>().empty()) out.push_back(item.get<std::string>());
  return out;
}

// Every string of the profile, lower case, one per line: what the flags read.
std::string profile_words(const nlohmann::json& profile) {
  std::string out;
  if (!profile.is_object()) return out;
  for (const auto& [key, value] : profile.items()) {
    if (value.is_string()) out += util::to_lower(value.get<std::string>()) + "\n";
    if (value.is_array())
      for (const auto& item : value)
        if (item.is_string()) out += util::to_lower(item.get<std::string>()) + "\n";
  }
  return out;
}

// Goods that are kept cold, and words a profile uses for keeping them cold.
const std::vector<std::string> k_cold_words = {"chilled", "refrigerat", "frozen", "cold chain", "cold-chain", "fridge",
                                               "freezer", "dairy", "yoghurt", "yogurt", "kefir", "fresh meat",
                                               "ice cream"};
// A profile that says outright that the brand keeps nothing cold.
const std::vector<std::string> k_no_cold_words = {"no cold chain", "without a cold chain", "ambient only",
                                                  "dry goods only", "no chilled"};
const std::vector<std::string> k_no_direct_words = {"no direct channel", "no own website", "does not sell direct",
                                                    "only through retailers"};
const std::vector<std::string> k_own_channel_words = {"own website", "own web shop", "own webshop", "own online shop",
                                                     "sells direct", "sell direct", "direct to consumers", "d2c",
                                                     "own subscription", "own delivery"};
const std::vector<std::string> k_value_words = {"value brand", "value range", "budget", "discount", "low price",
                                                "low-price", "lowest price", "affordable", "cheap", "priced below",
                                                "priced well below", "entry price"};

// A brand_anchor object's product_line and customer_segment suggest the profile's names.
void limit_anchor(nlohmann::json& member, const BrandFacts& facts) {
  auto& anchor = member["properties"];
  const std::string line = anchor["product_line"].value("description", "");
  const std::string segment = anchor["customer_segment"].value("description", "");
  if (!facts.product_lines.empty()) anchor["product_line"] = schema::suggested_string(facts.product_lines, line);
  if (!facts.customer_segments.empty()) anchor["customer_segment"] = schema::suggested_string(facts.customer_segments, segment);
}

void limit(nlohmann::json& schema, const BrandFacts& facts) {
  if (!schema.is_object()) return;
  if (auto properties = schema.find("properties"); properties != schema.end() && properties->is_object()) {
    for (auto& [name, member] : properties->items()) {
      if (name == "brand_anchor" && member.contains("properties")) {
        limit_anchor(member, facts);
      } else if (name == "storage" && member.contains("enum")) {
        member["enum"] = storage_options(facts);
      } else if (name == "channel" && member.contains("enum")) {
        member["enum"] = channel_options(facts);
      } else {
        limit(member, facts);
      }
    }
  }
  if (auto items = schema.find("items"); items != schema.end()) limit(*items, facts);
  if (auto options = schema.find("anyOf"); options != schema.end() && options->is_array())
    for (auto& option : *options) limit(option, facts);
  if (auto defs = schema.find("$defs"); defs != schema.end() && defs->is_object())
    for (auto& [name, definition] : defs->items()) {
      if (name == "brand_anchor" && definition.contains("properties")) limit_anchor(definition, facts);
      else limit(definition, facts);
    }
}

// The first of `needles` that `text` holds, or empty.
std::string first_found(const std::string& text, const std::vector<std::string>& needles) {
  for (const auto& needle : needles)
    if (text.find(needle) != std::string::npos) return needle;
  return {};
}

// The currency of a country a profile names, for the countries whose currency is not in doubt.
std::string currency_of_country(const std::string& country) {
  static const std::vector<std::pair<std::string, std::string>> currencies = {
      {"united kingdom", "GBP"}, {"great britain", "GBP"}, {"england", "GBP"}, {"scotland", "GBP"},
      {"wales", "GBP"},          {"united states", "USD"}, {"usa", "USD"},     {"canada", "CAD"},
      {"australia", "AUD"},      {"new zealand", "NZD"},   {"ireland", "EUR"},  {"germany", "EUR"},
      {"france", "EUR"},         {"netherlands", "EUR"},   {"belgium", "EUR"},  {"spain", "EUR"},
      {"italy", "EUR"},          {"portugal", "EUR"},      {"austria", "EUR"},  {"finland", "EUR"},
      {"switzerland", "CHF"},    {"sweden", "SEK"},        {"norway", "NOK"},   {"denmark", "DKK"},
      {"poland", "PLN"},         {"japan", "JPY"},         {"india", "INR"},    {"mexico", "MXN"},
      {"brazil", "BRL"},         {"south africa", "ZAR"}, {"singapore", "SGD"}};
  const std::string lower = util::to_lower(country);
  for (const auto& [name, code] : currencies)
    if (lower == name) return code;
  return {};
}

}  // namespace

BrandFacts brand_facts(const nlohmann::json& profile) {
  BrandFacts facts;
  if (!profile.is_object()) return facts;
  facts.product_lines = strings_of(profile, "portfolio");
  for (auto& line : strings_of(profile, "recent_innovations")) facts.product_lines.push_back(std::move(line));
  facts.customer_segments = strings_of(profile, "target_customers");
  std::vector<std::string> ignored;  // a snapshot was validated when the run was made
  const brand::MarketFacts stated = brand::read_market_facts(profile, ignored);
  facts.current_prices = stated.current_prices;
  facts.launch_limits = stated.launch_limits;
  std::string words = profile_words(profile);
  if (auto research = profile.find("research"); research != profile.end() && research->is_string())
    words += util::to_lower(research->get<std::string>());

  if (stated.cold_chain) {
    facts.cold_chain = *stated.cold_chain;
  } else {
    const std::string cold = first_found(words, k_cold_words);
    const std::string not_cold = first_found(words, k_no_cold_words);
    facts.cold_chain = !cold.empty() && not_cold.empty();
    facts.inferred.push_back(
        facts.cold_chain ? "cold chain taken as yes from the word \"" + cold + "\" in the profile"
        : !not_cold.empty() ? "cold chain taken as no from \"" + not_cold + "\" in the profile"
                            : "cold chain taken as no: the profile names no chilled or frozen goods");
  }

  if (!stated.channels.empty()) {
    facts.channels = stated.channels;
  } else {
    // Only words for a channel of the brand's own count: a partner's doorstep round is not the brand's.
    const std::string direct = first_found(words, k_own_channel_words);
    const std::string not_direct = first_found(words, k_no_direct_words);
    const bool own = !direct.empty() && not_direct.empty();
    facts.channels = {"store_retail", "online_retail", "foodservice"};
    if (own) facts.channels.insert(facts.channels.end(), {"direct_to_consumer", "subscription"});
    facts.inferred.push_back(own ? "channels taken to include direct_to_consumer and subscription from \"" + direct +
                                       "\" in the profile"
                                 : "channels taken as store_retail, online_retail and foodservice: the profile names "
                                   "no channel of the brand's own to consumers");
  }
  facts.direct_channel = std::any_of(facts.channels.begin(), facts.channels.end(), [](const std::string& channel) {
    return channel == "direct_to_consumer" || channel == "subscription";
  });

  if (!stated.price_position.empty()) {
    facts.price_position = stated.price_position;
  } else {
    const std::string positioning = util::to_lower(profile.value("positioning", std::string()));
    const std::string value = first_found(positioning, k_value_words);
    facts.price_position = value.empty() ? "mainstream" : "value";
    facts.inferred.push_back(value.empty() ? "price position taken as mainstream: the positioning names no low price"
                                           : "price position taken as value from \"" + value + "\" in the positioning");
  }
  facts.value_brand = facts.price_position == "value";

  if (!stated.currency.empty()) {
    facts.currency = stated.currency;
  } else {
    const std::string country = profile.value("country", std::string());
    facts.currency = currency_of_country(country);
    facts.inferred.push_back(facts.currency.empty()
                                 ? "currency unknown: the profile states none, and its country names none for sure"
                                 : "currency taken as " + facts.currency + " from the country \"" + country + "\"");
  }
  if (stated.current_prices.empty()) {
    facts.inferred.push_back("no current prices: a card's price cannot be set beside the brand's own");
  }
  return facts;
}

std::string facts_summary(const BrandFacts& facts) {
  const auto how = [&](std::string_view fact) {
    for (const auto& line : facts.inferred)
      if (line.rfind(fact, 0) == 0) return std::string(" (inferred)");
    return std::string(" (stated)");
  };
  std::string channels;
  for (const auto& channel : facts.channels) channels += (channels.empty() ? "" : ", ") + channel;
  std::string out;
  out += "Currency: " + (facts.currency.empty() ? std::string("unknown") : facts.currency) + how("currency") + "\n";
  out += "Price position: " + facts.price_position + how("price position") + "\n";
  out += "Channels: " + channels + how("channels") + "\n";
  out += std::string("Cold chain: ") + (facts.cold_chain ? "yes" : "no") + how("cold chain") + "\n";
  out += "Current prices: " + std::to_string(facts.current_prices.size()) + "\n";
  for (const auto& price : facts.current_prices)
    out += fmt::format("  {}, {}: {:.2f}{}\n", price.product, price.pack, price.price,
                       facts.currency.empty() ? "" : " " + facts.currency);
  const auto& limits = facts.launch_limits;
  out += "Launch limits: ";
  if (!limits.largest_investment && !limits.longest_months_to_launch) out += "not stated (stage 4 sets them)";
  if (limits.largest_investment)
    out += fmt::format("investment up to {:.0f}{}", *limits.largest_investment,
                       facts.currency.empty() ? "" : " " + facts.currency);
  if (limits.longest_months_to_launch)
    out += fmt::format("{}launch within {} months", limits.largest_investment ? ", " : "",
                       *limits.longest_months_to_launch);
  out += "\n";
  for (const auto& line : facts.inferred) out += "  inferred: " + line + "\n";
  return out;
}

std::vector<std::string> storage_options(const BrandFacts& facts) {
  if (!facts.cold_chain) return {"ambient"};
  return {"ambient", "chilled", "frozen"};
}

std::vector<std::string> channel_options(const BrandFacts& facts) {
  if (!facts.channels.empty()) return facts.channels;
  std::vector<std::string> options = {"store_retail", "online_retail", "foodservice"};
  if (facts.direct_channel) {
    options.push_back("direct_to_consumer");
    options.push_back("subscription");
  }
  return options;
}

std::string feasibility_rules(const BrandFacts& facts) {
  std::string out;
  out += facts.cold_chain
             ? "- Storage: the profile shows chilled goods, so chilled or frozen products are within reach.\n"
             : "- Storage: the profile shows no cold chain. Propose shelf-stable (ambient) products only: nothing "
               "chilled, refrigerated or frozen.\n";
  out += facts.direct_channel
             ? "- Channel: the brand already sells to consumers itself, so a direct or subscription offer is within "
               "reach; name the channel it uses.\n"
             : "- Channel: the profile shows no channel of the brand's own to consumers. Sell through stores, online "
               "retailers or foodservice only: no subscription, no direct-to-consumer offer.\n";
  out += facts.value_brand
             ? "- Price tier: the brand is positioned on price. A premium tier is allowed only when the card says what "
               "earns it (an ingredient, a process, a proof) and why this brand's shoppers would pay it.\n"
             : "- Price tier: a premium tier must still say what earns it for this brand's shoppers.\n";
  out += "- Education: a shopper must understand the product at a glance or from one line on the pack. A product "
         "that needs heavy consumer education (a new habit, a demonstration, a campaign before it sells) is out.\n";
  return out;
}

nlohmann::json limit_brand_refs(nlohmann::json schema, const BrandFacts& facts) {
  limit(schema, facts);
  return schema;
}

}  // namespace pipeline::stages

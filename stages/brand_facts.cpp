#include "stages/brand_facts.hpp"

#include <algorithm>
#include <cctype>

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
const std::vector<std::string> k_direct_words = {"own website", "own web shop", "own webshop", "own online shop",
                                                 "sells direct", "sell direct", "direct to consumers", "doorstep",
                                                 "subscription", "d2c"};
const std::vector<std::string> k_no_direct_words = {"no direct channel", "no own website", "does not sell direct",
                                                    "only through retailers"};
const std::vector<std::string> k_value_words = {"value brand", "value range", "budget", "discount", "low price",
                                                "low-price", "lowest price", "affordable", "cheap", "priced below",
                                                "priced well below", "entry price"};

void limit(nlohmann::json& schema, const BrandFacts& facts) {
  if (!schema.is_object()) return;
  if (auto properties = schema.find("properties"); properties != schema.end() && properties->is_object()) {
    for (auto& [name, member] : properties->items()) {
      if (name == "brand_anchor" && member.contains("properties")) {
        auto& anchor = member["properties"];
        const std::string line = anchor["product_line"].value("description", "");
        const std::string segment = anchor["customer_segment"].value("description", "");
        if (!facts.product_lines.empty()) anchor["product_line"] = schema::suggested_string(facts.product_lines, line);
        if (!facts.customer_segments.empty())
          anchor["customer_segment"] = schema::suggested_string(facts.customer_segments, segment);
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
}

}  // namespace

BrandFacts brand_facts(const nlohmann::json& profile) {
  BrandFacts facts;
  if (!profile.is_object()) return facts;
  facts.product_lines = strings_of(profile, "portfolio");
  for (auto& line : strings_of(profile, "recent_innovations")) facts.product_lines.push_back(std::move(line));
  facts.customer_segments = strings_of(profile, "target_customers");
  std::string words = profile_words(profile);
  if (auto research = profile.find("research"); research != profile.end() && research->is_string())
    words += util::to_lower(research->get<std::string>());
  facts.cold_chain = util::contains_any(words, k_cold_words) && !util::contains_any(words, k_no_cold_words);
  facts.direct_channel = util::contains_any(words, k_direct_words) && !util::contains_any(words, k_no_direct_words);
  facts.value_brand = util::contains_any(util::to_lower(profile.value("positioning", std::string())), k_value_words);
  return facts;
}

std::vector<std::string> storage_options(const BrandFacts& facts) {
  if (!facts.cold_chain) return {"ambient"};
  return {"ambient", "chilled", "frozen"};
}

std::vector<std::string> channel_options(const BrandFacts& facts) {
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

#include "stages/card_schema.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "stages/card_figures.hpp"

#include "stages/schema_builder.hpp"
#include "stages/vocabulary.hpp"

namespace pipeline::stages {
namespace {

// At most eight words: one word, then up to seven more, separated by whitespace.
constexpr const char* k_card_title_pattern = "^\\S+(\\s+\\S+){0,7}$";

// An ISO 4217 currency code: three capital letters (the list is checked in code).
constexpr const char* k_card_currency_pattern = "^[A-Z]{3}$";

// A shelf price or a sales rate of zero is no plan; a cent or a hundredth of a unit is the least.
constexpr double k_least_card_figure = 0.01;

// A card is launched at the earliest in a quarter and at the latest in two years.
constexpr int k_least_card_months = 3;
constexpr int k_most_card_months = 24;

// The figures' basis starts by saying they are estimates.
constexpr const char* k_card_basis_pattern = "^Estimates? based on .+$";

const std::vector<std::string>& education_levels() {
  static const std::vector<std::string> levels = {"none", "light"};
  return levels;
}

nlohmann::json card_step_schema(const std::string& description) {
  using namespace schema;
  return object({
      {"action", string("What to do, concretely, with whom", 240)},
      {"scale", string("How big: units, stores, shoppers or batches", 80)},
      {"timing", string("When or how long, e.g. 'in 6 weeks'", 60)},
  }, description);
}

nlohmann::json card_steps_schema() {
  nlohmann::json steps = schema::object({}, "Exactly three next steps, one of each kind");
  for (const auto& [kind, description] : step_kinds()) {
    steps["properties"][kind] = card_step_schema(description);
    steps["required"].push_back(kind);
  }
  return steps;
}

nlohmann::json card_description_schema() {
  using namespace schema;
  return object({
      {"what", string("What it is, concretely: product, pack, ingredients or service")},
      {"who", string("Who it is for and why they would buy it at its price")},
      {"how_why_now", string("How the mechanism makes it work, and why now")},
  });
}

nlohmann::json card_buyer_questions_schema() {
  using namespace schema;
  return object({
      {"versus_competitor", object({
                                {"competitor", string("The competing product or brand the buyer compares it with", 160)},
                                {"question", string("The buyer's question about it against that competitor", 300)},
                            })},
      {"trade_terms", string("The buyer's question about margin, velocity, space, promotion or supply", 300)},
  }, "Exactly two questions a retail buyer would ask");
}

nlohmann::json card_storage_schema() {
  return schema::enumeration({"ambient", "chilled", "frozen"}, "How it is kept in the store");
}

nlohmann::json card_channel_schema() {
  return schema::enumeration(
      {"store_retail", "online_retail", "foodservice", "direct_to_consumer", "subscription"}, "Where it is mainly sold");
}

nlohmann::json card_education_schema() {
  return schema::enumeration(education_levels(),
                             "What a shopper must learn first: none (clear at a glance) or light (one line on the pack)");
}

nlohmann::json tier_reason_schema() {
  return schema::string("What earns its price tier for this brand's shoppers", 300);
}

nlohmann::json below_threshold_schema() {
  return schema::nullable_string(
      "Null when the rate of sale and the margin meet stage 4's retail thresholds; else one sentence on why the brand "
      "should list it all the same");
}

nlohmann::json card_basis_schema() {
  return schema::pattern_string("One line, 'Estimate based on ...': what the figures rest on (current prices, comparable "
                                "rates of sale, category margins)",
                                k_card_basis_pattern, 300);
}

nlohmann::json equipment_schema() {
  using namespace schema;
  return object({
      {"needed", boolean("Whether the launch needs equipment the brand does not have")},
      {"what", nullable_string("The equipment, a line or a mould, when it is needed; null when not")},
  });
}

nlohmann::json shelf_set_schema() { return schema::string("The shelf set or aisle section it joins in the store", 160); }

nlohmann::json copy_defence_schema() {
  return schema::string("Why the category leader would not copy it within a year: an asset, a licence, a listing, a "
                        "cost it cannot match",
                        300);
}

nlohmann::json cannibalises_schema(const nlohmann::json& line) {
  using namespace schema;
  return object({
      {"product_line", line},
      {"how_limited", string("How the loss to that line is kept small: a different shopper, occasion, price or shelf", 300)},
  }, "The brand's own line it may take sales from");
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& step_kinds() {
  static const std::vector<std::pair<std::string, std::string>> kinds = {
      {"production_trial", "A manufacturing or supply trial: a pilot run, a co-packer trial, a shelf-life test"},
      {"retailer_test", "A pricing, listing or shelf test with a named retailer"},
      {"claim_proof", "Substantiating a claim or an ingredient: a lab test, a certificate, a consumer test"},
  };
  return kinds;
}

const std::vector<std::string>& price_tiers() {
  static const std::vector<std::string> tiers = {"value", "mainstream", "premium"};
  return tiers;
}

std::vector<std::string> comparable_labels(const BrandFacts& facts) {
  std::vector<std::string> labels;
  for (const auto& price : facts.current_prices) labels.push_back(price.product + " (" + price.pack + ")");
  return labels;
}

nlohmann::json card_answer_schema(const BrandFacts& facts) {
  using namespace schema;
  nlohmann::json retail = object({
      {"price", number("Consumer shelf price of one pack of the planned format", k_least_card_figure)},
      {"units_per_store_per_week", number("Expected packs sold per store per week", k_least_card_figure)},
      {"gross_margin_pct", number("Expected gross margin for the brand, in percent", 0.0, 100.0)},
      {"months_to_launch", integer("Months from go decision to shelf", k_least_card_months, k_most_card_months)},
      {"below_threshold_reason", below_threshold_schema()},
      {"basis", card_basis_schema()},
  }, facts.currency.empty() ? "Retail figures, all estimates" : "Retail figures in " + facts.currency + ", all estimates");
  if (!facts.current_prices.empty()) {
    // No card is priced three times above the brand's dearest pack or below a third of its cheapest.
    double lowest = facts.current_prices.front().price;
    double highest = lowest;
    for (const auto& current : facts.current_prices) {
      lowest = std::min(lowest, current.price);
      highest = std::max(highest, current.price);
    }
    auto& price = retail["properties"]["price"];
    price["minimum"] = std::max(k_least_card_figure, std::round(lowest / k_most_price_ratio * 100) / 100);
    price["maximum"] = std::round(highest * k_most_price_ratio * 100) / 100;
  }
  if (facts.currency.empty()) {
    retail["properties"]["currency"] = pattern_string("ISO 4217 code of the price, e.g. EUR", k_card_currency_pattern, 3);
    retail["required"].push_back("currency");
  }
  const auto labels = comparable_labels(facts);
  const nlohmann::json comparable =
      labels.empty()
          ? object({
                {"product", string("A product the brand's shoppers buy today that this card is priced against", 160)},
                {"pack", string("Its pack, e.g. '500 g tub'", 80)},
                {"price", number("Its shelf price today, an estimate", k_least_card_figure)},
            }, "The current product the card's price is set against")
          : object({
                {"product", enumeration(labels, "The brand's current product the card's price is set against")},
            }, "The current product the card's price is set against");
  const nlohmann::json line = facts.product_lines.empty()
                                  ? string("The brand's line, by its name in the profile", 200)
                                  : suggested_string(facts.product_lines, "The brand's line, by its name in the profile");
  return object({
      {"title", pattern_string("A title of at most eight words", k_card_title_pattern, 80)},
      {"description", card_description_schema()},
      {"feasibility", object({
                          {"storage", card_storage_schema()},
                          {"channel", card_channel_schema()},
                          {"price_tier_reason", tier_reason_schema()},
                          {"consumer_education", card_education_schema()},
                      }, "What the brand needs to make and sell it, within what it has")},
      {"next_steps", card_steps_schema()},
      {"shelf", string("One sentence on how it looks on the shelf and where it sits", 300)},
      {"buyer_questions", card_buyer_questions_schema()},
      {"retail", retail},
      {"comparable", comparable},
      {"launch", object({
                     {"investment", object({
                                        {"low", number("The least it may cost to launch", 0.0)},
                                        {"high", number("The most it may cost to launch", 0.0)},
                                    }, "What the launch costs the brand: equipment, tooling, listing fees, first stock")},
                     {"new_equipment", equipment_schema()},
                     {"shelf_set", shelf_set_schema()},
                     {"cannibalises", cannibalises_schema(line)},
                     {"copy_defence", copy_defence_schema()},
                 }, "The launch's economics")},
  });
}

nlohmann::json card_schema(const std::string& pattern) {
  using namespace schema;
  const auto anchor_text = [](const char* description, int length) { return string(description, length); };
  return object({
      {"title", pattern_string("A title of at most eight words", k_card_title_pattern, 80)},
      {"pattern", constant(pattern, "The consumer-goods pattern of this card")},
      {"mechanism_id", enumeration(vocabulary::mechanism_ids(), "The stage 1 mechanism the card builds on, as planned")},
      {"format", string("Its form and pack, as planned", 120)},
      {"brand_anchor", object({
                           {"product_line", anchor_text("The brand's product line it extends", 200)},
                           {"customer_segment", anchor_text("The target customer it is for", 200)},
                           {"capability", anchor_text("The brand's asset, channel or skill it uses", 200)},
                           {"competitor", anchor_text("The product or brand it takes share from", 160)},
                       }, "What ties it to this brand, as planned")},
      {"description", card_description_schema()},
      {"price_point", string("The price line: currency, price and pack", 200)},
      {"feasibility", object({
                          {"storage", card_storage_schema()},
                          {"channel", card_channel_schema()},
                          {"price_tier", enumeration(price_tiers(), "Its price tier against the category, as planned")},
                          {"price_tier_reason", tier_reason_schema()},
                          {"consumer_education", card_education_schema()},
                      })},
      {"next_steps", card_steps_schema()},
      {"shelf", string("One sentence on how it looks on the shelf and where it sits", 300)},
      {"buyer_questions", card_buyer_questions_schema()},
      {"retail", object({
                     {"price", number("Consumer shelf price of one pack", k_least_card_figure)},
                     {"currency", pattern_string("ISO 4217 code of the price", k_card_currency_pattern, 3)},
                     {"pack", string("The pack the price is for: the planned format", 120)},
                     {"units_per_store_per_week", number("Expected packs sold per store per week", k_least_card_figure)},
                     {"gross_margin_pct", number("Expected gross margin for the brand, in percent", 0.0, 100.0)},
                     {"months_to_launch", integer("Months from go decision to shelf", k_least_card_months, k_most_card_months)},
                     {"below_threshold_reason", below_threshold_schema()},
                     {"basis", card_basis_schema()},
                 }, "Retail figures, all estimates")},
      {"comparable", object({
                         {"product", string("The current product the card's price is set against", 200)},
                         {"pack", nullable_string("Its pack")},
                         {"price", number("Its shelf price", 0.0)},
                         {"source", enumeration({"brand profile", "estimate"},
                                                "Where its price comes from: the profile's current prices, or the writer")},
                         {"price_ratio", number("The card's price over the comparable's, per the unit below", 0.0)},
                         {"compared_per", string("What the ratio is taken over: per 100 g, per 100 ml, per piece or per pack", 40)},
                         {"flags", array(string("What is wrong with the price against it"), 0, 4,
                                         "The price's problems against the comparable and the tier; empty when none")},
                     })},
      {"launch", object({
                     {"investment", object({
                                        {"low", number("The least it may cost to launch", 0.0)},
                                        {"high", number("The most it may cost to launch", 0.0)},
                                        {"currency", nullable_string("The brand's currency")},
                                    })},
                     {"new_equipment", equipment_schema()},
                     {"shelf_set", shelf_set_schema()},
                     {"cannibalises", cannibalises_schema(string("The brand's line it may take sales from", 200))},
                     {"copy_defence", copy_defence_schema()},
                     {"beyond_limits", array(string("What puts it beyond the brand's launch limits"), 0, 2,
                                             "What puts the launch beyond the limits stage 4 states; empty when within")},
                 })},
  });
}

}  // namespace pipeline::stages

#include "stages/card_figures.hpp"

#include <cctype>
#include <cmath>
#include <regex>

#include <fmt/format.h>

#include "lib/util/text.hpp"
#include "stages/card_checks.hpp"
#include "stages/markdown.hpp"

namespace pipeline::stages {
namespace {

std::optional<double> member_number(const nlohmann::json& object, const char* key) {
  const auto& value = markdown::member(object, key);
  if (!value.is_number()) return std::nullopt;
  return value.get<double>();
}

double decimal(std::string text) {
  for (char& c : text)
    if (c == ',') c = '.';
  return std::stod(text);
}

size_t word_count(const std::string& text) {
  size_t words = 0;
  bool in_word = false;
  for (char c : text) {
    const bool letter = std::isalnum(static_cast<unsigned char>(c)) != 0;
    if (letter && !in_word) ++words;
    in_word = letter;
  }
  return words;
}

// A value brand's premium card says what earns the premium in at least this many words.
constexpr size_t k_least_premium_reason_words = 8;

}  // namespace

std::optional<PackQuantity> pack_quantity(std::string_view pack) {
  const std::string text = util::to_lower(pack);
  // An optional count and "x", then an amount and its unit: "4 x 125 g", "1,5 l", "330ml".
  static const std::regex measured(R"((?:(\d+)\s*(?:x|×)\s*)?(\d+(?:[.,]\d+)?)\s*(kg|g|mg|ml|cl|l|litres?|liters?)\b)");
  static const std::regex counted(
      R"((\d+)\s*(?:x\s+)?(pieces?|pcs|bars?|sachets?|pods?|cups?|bottles?|cans?|pots?|jars?|bags?|portions?|pouches|pouch|sticks?|servings?|tablets?|capsules?|rolls?|slices?|buns?|cakes?|biscuits?|cookies?)\b)");
  std::smatch match;
  if (std::regex_search(text, match, measured)) {
    const double count = match[1].matched ? decimal(match[1]) : 1.0;
    double amount = decimal(match[2]) * count;
    const std::string unit = match[3];
    if (unit == "kg") return PackQuantity{amount * 1000, "g"};
    if (unit == "g") return PackQuantity{amount, "g"};
    if (unit == "mg") return PackQuantity{amount / 1000, "g"};
    if (unit == "ml") return PackQuantity{amount, "ml"};
    if (unit == "cl") return PackQuantity{amount * 10, "ml"};
    return PackQuantity{amount * 1000, "ml"};
  }
  if (std::regex_search(text, match, counted)) return PackQuantity{decimal(match[1]), "piece"};
  return std::nullopt;
}

std::string price_line(double price, const std::string& currency, const std::string& pack) {
  std::string line = currency.empty() ? fmt::format("{:.2f}", price) : fmt::format("{} {:.2f}", currency, price);
  if (!util::is_blank(pack)) line += " for " + pack;
  return line;
}

PriceComparison compare_prices(double price, const std::string& pack, double other_price, const std::string& other_pack) {
  const auto quantity = pack_quantity(pack);
  const auto other = pack_quantity(other_pack);
  if (quantity && other && quantity->unit == other->unit && quantity->amount > 0 && other->amount > 0 && other_price > 0) {
    const std::string per = quantity->unit == "piece" ? "per piece" : "per 100 " + quantity->unit;
    return {(price / quantity->amount) / (other_price / other->amount), per};
  }
  return {other_price > 0 ? price / other_price : 0.0, "per pack"};
}

RetailThresholds retail_thresholds(const nlohmann::json& contextualize_output) {
  const auto& thresholds = markdown::member(contextualize_output, "retail_thresholds");
  return {member_number(thresholds, "velocity_units_per_store_per_week"), member_number(thresholds, "gross_margin_pct")};
}

brand::LaunchLimits launch_limits(const nlohmann::json& contextualize_output) {
  const auto& limits = markdown::member(contextualize_output, "launch_limits");
  brand::LaunchLimits out;
  out.largest_investment = member_number(limits, "largest_investment");
  if (const auto months = member_number(limits, "longest_months_to_launch"))
    out.longest_months_to_launch = static_cast<int>(std::lround(*months));
  return out;
}

std::vector<std::string> price_flags(const nlohmann::json& card, const std::string& pattern, const BrandFacts& facts) {
  std::vector<std::string> flags;
  const auto& comparable = markdown::member(card, "comparable");
  const auto ratio = member_number(comparable, "price_ratio");
  const std::string tier = markdown::text(markdown::member(card, "feasibility"), "price_tier");
  if (ratio && *ratio > 0) {
    const std::string per = markdown::text(comparable, "compared_per");
    const std::string against = fmt::format("its comparable, {}", markdown::text(comparable, "product"));
    if (*ratio >= k_most_price_ratio || *ratio <= 1.0 / k_most_price_ratio)
      flags.push_back(fmt::format("priced at {:.1f} times {} {}: a comparable this far away is no anchor", *ratio,
                                  against, per));
    if ((pattern == "premiumisation" || tier == "premium") && *ratio <= 1.0)
      flags.push_back(fmt::format("a {} card priced at {:.2f} times {} {}, not above it",
                                  pattern == "premiumisation" ? "premiumisation" : "premium-tier", *ratio, against, per));
    if (tier == "value" && *ratio > 1.0)
      flags.push_back(fmt::format("a value-tier card priced at {:.2f} times {} {}, not at or below it", *ratio, against,
                                  per));
  }
  const std::string reason = markdown::text(markdown::member(card, "feasibility"), "price_tier_reason");
  if (facts.value_brand && tier == "premium" && word_count(reason) < k_least_premium_reason_words)
    flags.push_back("a premium card of a brand positioned on price, whose tier reason does not say what earns the "
                    "premium");
  return flags;
}

std::string threshold_problems(const nlohmann::json& card, const RetailThresholds& thresholds) {
  const auto& retail = markdown::member(card, "retail");
  std::vector<std::string> below;
  const auto units = member_number(retail, "units_per_store_per_week");
  if (units && thresholds.units_per_store_per_week && *units < *thresholds.units_per_store_per_week)
    below.push_back(fmt::format("{:.1f} units per store per week is below stage 4's threshold of {:.1f}", *units,
                                *thresholds.units_per_store_per_week));
  const auto margin = member_number(retail, "gross_margin_pct");
  if (margin && thresholds.gross_margin_pct && *margin < *thresholds.gross_margin_pct)
    below.push_back(fmt::format("a gross margin of {:.1f} % is below stage 4's threshold of {:.1f} %", *margin,
                                *thresholds.gross_margin_pct));
  if (below.empty() || !util::is_blank(markdown::text(retail, "below_threshold_reason"))) return {};
  std::string problems;
  for (const auto& line : below) add_problem(problems, line);
  return problems + ": say in retail.below_threshold_reason why the brand should list it all the same, or change "
                    "the figures";
}

std::string launch_problems(const nlohmann::json& card, const BrandFacts& facts) {
  std::string problems;
  const auto& launch = markdown::member(card, "launch");
  const auto& equipment = markdown::member(launch, "new_equipment");
  const auto& needed = markdown::member(equipment, "needed");
  if (needed.is_boolean() && needed.get<bool>() && util::is_blank(markdown::text(equipment, "what")))
    add_problem(problems, "launch.new_equipment is needed, so name what it is");
  const std::string line = markdown::text(markdown::member(launch, "cannibalises"), "product_line");
  if (!facts.product_lines.empty() && !names_one_of(line, facts.product_lines))
    add_problem(problems, fmt::format("launch.cannibalises.product_line \"{}\" names no product line of the brand "
                                      "profile; name the brand's own line it may take sales from",
                                      line));
  return problems;
}

std::vector<std::string> launch_flags(const nlohmann::json& card, const brand::LaunchLimits& limits,
                                      const std::string& currency) {
  std::vector<std::string> flags;
  const auto high = member_number(markdown::member(markdown::member(card, "launch"), "investment"), "high");
  const std::string unit = currency.empty() ? "" : " " + currency;
  if (high && limits.largest_investment && *high > *limits.largest_investment)
    flags.push_back(fmt::format("investment of up to {:.0f}{} is above the brand's limit of {:.0f}{}", *high, unit,
                                *limits.largest_investment, unit));
  const auto months = member_number(markdown::member(card, "retail"), "months_to_launch");
  if (months && limits.longest_months_to_launch && *months > *limits.longest_months_to_launch)
    flags.push_back(fmt::format("{:.0f} months to launch is beyond the brand's limit of {} months", *months,
                                *limits.longest_months_to_launch));
  return flags;
}

std::string comparable_line(const nlohmann::json& card) {
  const auto& comparable = markdown::child(card, "comparable");
  std::string out = markdown::text(comparable, "product");
  if (!markdown::text(comparable, "pack").empty()) out += ", " + markdown::text(comparable, "pack");
  const auto& price = markdown::child(comparable, "price");
  if (price.is_number())
    out += fmt::format(": {:.2f} {}", price.get<double>(), markdown::text(markdown::child(card, "retail"), "currency"));
  out += " (" + markdown::text(comparable, "source") + ")";
  const auto& ratio = markdown::child(comparable, "price_ratio");
  if (ratio.is_number() && ratio.get<double>() > 0)
    out += fmt::format("; this card is {:.2f} times its price {}", ratio.get<double>(),
                       markdown::text(comparable, "compared_per"));
  return out;
}

}  // namespace pipeline::stages

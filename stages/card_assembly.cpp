#include "stages/card_assembly.hpp"

#include <cmath>
#include <utility>

#include "stages/card_figures.hpp"
#include "stages/card_schema.hpp"
#include "stages/markdown.hpp"

namespace pipeline::stages {
namespace {

double number_of(const nlohmann::json& object, const char* key) {
  const auto& value = markdown::member(object, key);
  return value.is_number() ? value.get<double>() : 0.0;
}

// To the cent, as a price ratio is shown.
double to_hundredths(double value) { return std::round(value * 100) / 100; }

// The comparable as the card shows it: the profile's current price the
// writer chose, or the writer's own estimate when the profile states none.
nlohmann::json comparable_of(const nlohmann::json& answer, const BrandFacts& facts, double price, const std::string& pack) {
  const auto& chosen = markdown::member(answer, "comparable");
  nlohmann::json out = {{"product", markdown::text(chosen, "product")}, {"pack", nullptr}, {"price", 0.0},
                        {"source", "estimate"}};
  const auto labels = comparable_labels(facts);
  bool found = false;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != out["product"]) continue;
    const auto& current = facts.current_prices[i];
    out = {{"product", current.product}, {"pack", current.pack}, {"price", current.price}, {"source", "brand profile"}};
    found = true;
    break;
  }
  if (!found) {
    if (!markdown::text(chosen, "pack").empty()) out["pack"] = markdown::text(chosen, "pack");
    out["price"] = number_of(chosen, "price");
  }
  const auto comparison = compare_prices(price, pack, out["price"].get<double>(),
                                         out["pack"].is_string() ? out["pack"].get<std::string>() : std::string());
  out["price_ratio"] = to_hundredths(comparison.ratio);
  out["compared_per"] = comparison.per;
  return out;
}

}  // namespace

nlohmann::json assemble_card(const nlohmann::json& answer, const std::string& pattern, const nlohmann::json& planned,
                             const BrandFacts& facts, const brand::LaunchLimits& limits) {
  nlohmann::json card = answer.is_object() ? answer : nlohmann::json::object();
  card["pattern"] = pattern;
  card["mechanism_id"] = markdown::text(planned, "mechanism_id");
  const std::string format = markdown::text(planned, "format");
  card["format"] = format;
  card["brand_anchor"] = markdown::member(planned, "brand_anchor");
  if (!card["feasibility"].is_object()) card["feasibility"] = nlohmann::json::object();
  card["feasibility"]["price_tier"] = markdown::text(planned, "price_tier");

  if (!card["retail"].is_object()) card["retail"] = nlohmann::json::object();
  nlohmann::json& retail = card["retail"];
  const std::string currency = facts.currency.empty() ? markdown::text(retail, "currency") : facts.currency;
  retail["currency"] = currency;
  retail["pack"] = format;
  const double price = number_of(retail, "price");
  card["price_point"] = price_line(price, currency, format);
  card["comparable"] = comparable_of(answer, facts, price, format);
  card["comparable"]["flags"] = price_flags(card, pattern, facts);

  if (!card["launch"].is_object()) card["launch"] = nlohmann::json::object();
  nlohmann::json& launch = card["launch"];
  if (!launch["investment"].is_object()) launch["investment"] = nlohmann::json::object();
  // A range is the same range either way round: the lower figure is its low end.
  auto& investment = launch["investment"];
  if (investment["low"].is_number() && investment["high"].is_number() &&
      investment["low"].get<double>() > investment["high"].get<double>())
    std::swap(investment["low"], investment["high"]);
  launch["investment"]["currency"] = currency.empty() ? nlohmann::json(nullptr) : nlohmann::json(currency);
  launch["beyond_limits"] = launch_flags(card, limits, currency);
  return card;
}

}  // namespace pipeline::stages

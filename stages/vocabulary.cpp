#include "stages/vocabulary.hpp"

#include "stages/markdown.hpp"

namespace pipeline::stages::vocabulary {

const std::vector<std::string>& mechanism_ids() {
  static const std::vector<std::string> ids = {"M1", "M2", "M3"};
  return ids;
}

const std::vector<std::string>& mechanism_types() {
  static const std::vector<std::string> types = {
      "unbundle", "combine",    "remove_friction",       "change_business_model", "reframe",
      "democratise", "premiumise", "digitise_the_analogue", "humanise_the_digital",  "shift_in_time"};
  return types;
}

const std::vector<std::string>& constraint_kinds() {
  static const std::vector<std::string> kinds = {"time", "cost", "knowledge", "access", "effort"};
  return kinds;
}

const std::vector<std::string>& evidence_strengths() {
  static const std::vector<std::string> strengths = {"strong", "moderate", "weak", "anecdotal"};
  return strengths;
}

const std::vector<std::string>& ten_types() {
  static const std::vector<std::string> types = {
      "profit_model",         "network",        "structure", "process", "product_performance",
      "product_system",       "service",        "channel",   "brand",   "customer_engagement"};
  return types;
}

std::string_view ten_type_category(std::string_view type) {
  const auto& types = ten_types();
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] != type) continue;
    if (i < 4) return "configuration";
    if (i < 6) return "offering";
    return "experience";
  }
  return "";
}

const std::vector<std::string>& defensibility_levels() { return levels(); }

const std::vector<std::string>& levels() {
  static const std::vector<std::string> values = {"low", "medium", "high"};
  return values;
}

const std::vector<std::string>& patterns() {
  static const std::vector<std::string> values = {"better_for_you", "premiumisation", "convenience", "format_migration",
                                                  "occasion_expansion"};
  return values;
}

std::string pattern_label(std::string_view pattern) {
  if (pattern == "better_for_you") return "Better-for-you";
  return markdown::label(pattern);
}

std::string dashed(std::string_view value) {
  std::string out(value);
  for (char& c : out) {
    if (c == '_') c = '-';
  }
  return out;
}

}  // namespace pipeline::stages::vocabulary

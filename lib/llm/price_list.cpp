#include "lib/llm/price_list.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <vector>

namespace pipeline::llm {
namespace {

bool parse_amount(std::string_view text, double& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(value) && value >= 0;
}

}  // namespace

util::Expected<std::map<std::string, Price>> parse_price_list(std::string_view text) {
  std::map<std::string, Price> prices;
  while (!text.empty()) {
    const auto end = text.find(';');
    const std::string_view entry = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (entry.empty()) continue;
    const auto eq = entry.rfind('=');
    // Two to four amounts: prompt, completion, then cache read and cache write.
    std::vector<double> amounts;
    bool valid = eq != 0 && eq != std::string_view::npos;
    for (std::string_view rest = valid ? entry.substr(eq + 1) : std::string_view(); valid;) {
      const auto comma = rest.find(',');
      double amount = 0;
      valid = parse_amount(rest.substr(0, comma), amount);
      amounts.push_back(amount);
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    if (!valid || amounts.size() < 2 || amounts.size() > 4) {
      return util::fail(util::ErrorKind::usage,
                        "price \"" + std::string(entry) +
                            "\" is not MODEL=PROMPT,COMPLETION[,CACHE_READ[,CACHE_WRITE]] in US dollars per million tokens");
    }
    Price price{amounts[0], amounts[1]};
    if (amounts.size() > 2) price.cache_read_per_million = amounts[2];
    if (amounts.size() > 3) price.cache_write_per_million = amounts[3];
    prices[std::string(entry.substr(0, eq))] = price;
  }
  return prices;
}

namespace {

// A per-token price as a models list writes it; nullopt when it is no finite non-negative number.
std::optional<double> per_token(const nlohmann::json& value) {
  double number = -1;
  if (value.is_number()) {
    number = value.get<double>();
  } else if (value.is_string()) {
    const std::string text = value.get<std::string>();
    char* end = nullptr;
    number = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size()) return std::nullopt;
  }
  if (!std::isfinite(number) || number < 0) return std::nullopt;
  return number;
}

}  // namespace

std::map<std::string, Price> prices_from_models_list(const nlohmann::json& data,
                                                     const std::vector<std::string>& models) {
  std::map<std::string, Price> prices;
  if (!data.is_array()) return prices;
  for (const auto& entry : data) {
    if (!entry.is_object() || !entry.contains("id") || !entry["id"].is_string()) continue;
    const std::string id = entry["id"];
    if (std::find(models.begin(), models.end(), id) == models.end()) continue;
    const auto pricing = entry.value("pricing", nlohmann::json::object());
    if (!pricing.is_object() || !pricing.contains("prompt") || !pricing.contains("completion")) continue;
    const auto prompt = per_token(pricing["prompt"]);
    const auto completion = per_token(pricing["completion"]);
    if (!prompt || !completion) continue;
    Price price{*prompt * 1e6, *completion * 1e6};
    if (auto read = pricing.contains("input_cache_read") ? per_token(pricing["input_cache_read"]) : std::nullopt)
      price.cache_read_per_million = *read * 1e6;
    if (auto write = pricing.contains("input_cache_write") ? per_token(pricing["input_cache_write"]) : std::nullopt)
      price.cache_write_per_million = *write * 1e6;
    prices[id] = price;
  }
  return prices;
}

}  // namespace pipeline::llm

#include "lib/brand/market_facts.hpp"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

#include "lib/util/text.hpp"

namespace pipeline::brand {
namespace {

// The codes of ISO 4217 in use (2025): currencies, including three replaced
// since (ANG, SLL, ZWL) that older price lists still carry, then fund codes.
constexpr std::string_view k_currency_codes[] = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
    "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
    "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
    "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC",
    "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG", "ZWL", "BOV", "CLF",
    "COU", "MXV", "USN", "UYI", "CHE", "CHW", "UYW"};

std::string field_problem(std::string_view field, const std::string& what) {
  return fmt::format("field \"{}\" {}", field, what);
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string text_member(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<CurrentPrice> read_current_prices(const nlohmann::json& list, std::vector<std::string>& problems) {
  std::vector<CurrentPrice> out;
  if (!list.is_array() || list.empty()) {
    problems.push_back(field_problem("current_prices", "must be a non-empty array of {product, pack, price}"));
    return {};
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& item = list[i];
    CurrentPrice price;
    if (item.is_object()) {
      price.product = text_member(item, "product");
      price.pack = text_member(item, "pack");
      if (const auto it = item.find("price"); it != item.end() && it->is_number()) price.price = it->get<double>();
    }
    if (util::is_blank(price.product) || util::is_blank(price.pack) || !(price.price > 0)) {
      problems.push_back(field_problem(
          "current_prices", fmt::format("item {} must be {{\"product\": text, \"pack\": text, \"price\": a number above 0}}",
                                        i + 1)));
      return {};
    }
    out.push_back(std::move(price));
  }
  return out;
}

// {"largest_investment": a number above 0, "longest_months_to_launch": a whole
// number of months}, either or both.
LaunchLimits read_launch_limits(const nlohmann::json& limits, std::vector<std::string>& problems) {
  LaunchLimits out;
  const auto refuse = [&problems] {
    problems.push_back(field_problem(
        "launch_limits", fmt::format("must be {{\"largest_investment\": a number above 0, \"longest_months_to_launch\": "
                                     "a whole number from 1 to {}}} (either or both)",
                                     k_most_months_to_launch_limit)));
    return LaunchLimits{};
  };
  if (!limits.is_object() || limits.empty()) return refuse();
  for (const auto& [key, value] : limits.items()) {
    if (key == "largest_investment" && value.is_number() && value.get<double>() > 0) {
      out.largest_investment = value.get<double>();
    } else if (key == "longest_months_to_launch" && value.is_number_integer() && value.get<long long>() >= 1 &&
               value.get<long long>() <= k_most_months_to_launch_limit) {
      out.longest_months_to_launch = value.get<int>();
    } else {
      return refuse();
    }
  }
  return out;
}

}  // namespace

bool is_currency_code(std::string_view code) {
  return std::find(std::begin(k_currency_codes), std::end(k_currency_codes), code) != std::end(k_currency_codes);
}

const std::vector<std::string>& price_positions() {
  static const std::vector<std::string> positions = {"value", "mainstream", "premium"};
  return positions;
}

const std::vector<std::string>& sales_channels() {
  static const std::vector<std::string> channels = {"store_retail", "online_retail", "foodservice",
                                                    "direct_to_consumer", "subscription"};
  return channels;
}

MarketFacts read_market_facts(const nlohmann::json& profile, std::vector<std::string>& problems) {
  MarketFacts facts;
  if (!profile.is_object()) return facts;
  if (const auto it = profile.find("currency"); it != profile.end()) {
    if (it->is_string() && is_currency_code(it->get<std::string>())) {
      facts.currency = it->get<std::string>();
    } else {
      problems.push_back(field_problem("currency", "must be an ISO 4217 currency code such as \"GBP\", \"EUR\" or \"USD\""));
    }
  }
  if (const auto it = profile.find("price_position"); it != profile.end()) {
    const auto& positions = price_positions();
    if (it->is_string() && std::find(positions.begin(), positions.end(), it->get<std::string>()) != positions.end()) {
      facts.price_position = it->get<std::string>();
    } else {
      problems.push_back(field_problem("price_position", "must be one of " + joined(positions)));
    }
  }
  if (const auto it = profile.find("channels"); it != profile.end()) {
    const auto& known = sales_channels();
    bool valid = it->is_array() && !it->empty();
    for (std::size_t i = 0; valid && i < it->size(); ++i) {
      const auto& item = (*it)[i];
      valid = item.is_string() && std::find(known.begin(), known.end(), item.get<std::string>()) != known.end();
    }
    if (valid) {
      // In the canonical order, each once.
      for (const auto& channel : known) {
        if (std::find(it->begin(), it->end(), channel) != it->end()) facts.channels.push_back(channel);
      }
    } else {
      problems.push_back(field_problem("channels", "must be a non-empty array of " + joined(known)));
    }
  }
  if (const auto it = profile.find("cold_chain"); it != profile.end()) {
    if (it->is_boolean()) {
      facts.cold_chain = it->get<bool>();
    } else {
      problems.push_back(field_problem("cold_chain", "must be true or false"));
    }
  }
  if (const auto it = profile.find("current_prices"); it != profile.end()) {
    facts.current_prices = read_current_prices(*it, problems);
  }
  if (const auto it = profile.find("launch_limits"); it != profile.end()) {
    facts.launch_limits = read_launch_limits(*it, problems);
  }
  return facts;
}

}  // namespace pipeline::brand

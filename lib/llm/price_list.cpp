#include "lib/llm/price_list.hpp"

#include <charconv>
#include <cmath>

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
    const auto comma = eq == std::string_view::npos ? eq : entry.find(',', eq);
    Price price;
    if (eq == 0 || eq == std::string_view::npos || comma == std::string_view::npos ||
        !parse_amount(entry.substr(eq + 1, comma - eq - 1), price.prompt_per_million) ||
        !parse_amount(entry.substr(comma + 1), price.completion_per_million)) {
      return util::fail(util::ErrorKind::usage,
                        "price \"" + std::string(entry) +
                            "\" is not MODEL=PROMPT,COMPLETION in US dollars per million tokens");
    }
    prices[std::string(entry.substr(0, eq))] = price;
  }
  return prices;
}

}  // namespace pipeline::llm

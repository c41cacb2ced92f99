#include "lib/llm/provider_usage.hpp"

namespace pipeline::llm {
namespace {

std::int64_t count_at(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return 0;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return 0;
  return it->get<std::int64_t>();
}

}  // namespace

double price_usage(const Price& price, std::int64_t prompt_tokens, std::int64_t completion_tokens) {
  return (static_cast<double>(prompt_tokens) * price.prompt_per_million +
          static_cast<double>(completion_tokens) * price.completion_per_million) /
         1e6;
}

Usage usage_from_provider(const nlohmann::json& usage, const std::string& model,
                          const std::map<std::string, Price>& prices) {
  Usage result;
  if (!usage.is_object()) return result;
  result.prompt_tokens = count_at(usage, "prompt_tokens");
  result.completion_tokens = count_at(usage, "completion_tokens");
  if (auto it = usage.find("prompt_tokens_details"); it != usage.end())
    result.cached_tokens = count_at(*it, "cached_tokens");
  if (auto it = usage.find("completion_tokens_details"); it != usage.end())
    result.reasoning_tokens = count_at(*it, "reasoning_tokens");
  if (auto it = usage.find("cost"); it != usage.end() && it->is_number()) {
    result.cost_usd = it->get<double>();
  } else if (auto price = prices.find(model); price != prices.end()) {
    result.cost_usd = price_usage(price->second, result.prompt_tokens, result.completion_tokens);
  }
  return result;
}

}  // namespace pipeline::llm

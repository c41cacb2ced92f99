#include "lib/llm/provider_usage.hpp"

#include <algorithm>

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

double price_usage(const Price& price, std::int64_t prompt_tokens, std::int64_t completion_tokens,
                   std::int64_t cache_read, std::int64_t cache_write) {
  const std::int64_t fresh = std::max<std::int64_t>(0, prompt_tokens - cache_read - cache_write);
  return (static_cast<double>(fresh) * price.prompt_per_million +
          static_cast<double>(cache_read) * price.cache_read_per_million.value_or(price.prompt_per_million) +
          static_cast<double>(cache_write) * price.cache_write_per_million.value_or(price.prompt_per_million) +
          static_cast<double>(completion_tokens) * price.completion_per_million) /
         1e6;
}

double price_usage(const Price& price, const Usage& usage) {
  return price_usage(price, usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens, usage.cache_write_tokens);
}

Usage usage_from_provider(const nlohmann::json& usage, const std::string& model,
                          const std::map<std::string, Price>& prices) {
  Usage result;
  if (!usage.is_object()) return result;
  result.prompt_tokens = count_at(usage, "prompt_tokens");
  result.completion_tokens = count_at(usage, "completion_tokens");
  if (auto it = usage.find("prompt_tokens_details"); it != usage.end()) {
    result.cached_tokens = count_at(*it, "cached_tokens");
    result.cache_write_tokens = count_at(*it, "cache_write_tokens");
  }
  // Anthropic names its own: input_tokens in its own API counts neither the
  // tokens read from the cache nor those written to it.
  if (usage.contains("cache_read_input_tokens") || usage.contains("cache_creation_input_tokens")) {
    result.cached_tokens = count_at(usage, "cache_read_input_tokens");
    result.cache_write_tokens = count_at(usage, "cache_creation_input_tokens");
    if (!usage.contains("prompt_tokens"))
      result.prompt_tokens = count_at(usage, "input_tokens") + result.cached_tokens + result.cache_write_tokens;
  }
  if (!usage.contains("prompt_tokens") && usage.contains("input_tokens") && result.prompt_tokens == 0)
    result.prompt_tokens = count_at(usage, "input_tokens");
  if (!usage.contains("completion_tokens") && usage.contains("output_tokens"))
    result.completion_tokens = count_at(usage, "output_tokens");
  // DeepSeek reports its cache hits beside prompt_tokens.
  if (usage.contains("prompt_cache_hit_tokens")) result.cached_tokens = count_at(usage, "prompt_cache_hit_tokens");
  if (auto it = usage.find("completion_tokens_details"); it != usage.end())
    result.reasoning_tokens = count_at(*it, "reasoning_tokens");
  if (auto it = usage.find("cost"); it != usage.end() && it->is_number()) {
    result.cost_usd = it->get<double>();
  } else if (auto price = prices.find(model); price != prices.end()) {
    result.cost_usd = price_usage(price->second, result);
  }
  return result;
}

}  // namespace pipeline::llm

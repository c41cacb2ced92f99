#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "lib/llm/chat.hpp"
#include "lib/llm/client_config.hpp"

namespace pipeline::llm {

// What `prompt_tokens` and `completion_tokens` cost at `price` (US dollars per
// million tokens). The one place tokens are turned into money.
double price_usage(const Price& price, std::int64_t prompt_tokens, std::int64_t completion_tokens);
// The same with `cache_read` and `cache_write` of the prompt tokens at the
// price's cache prices (each at the prompt price when the price has none),
// so a cache write dearer than the base price costs what it costs.
double price_usage(const Price& price, std::int64_t prompt_tokens, std::int64_t completion_tokens,
                   std::int64_t cache_read, std::int64_t cache_write);
// `usage`'s tokens at `price`, its cached tokens at the cache prices.
double price_usage(const Price& price, const Usage& usage);

// The Usage of a provider's `usage` object: prompt and completion tokens,
// cached tokens (docs/providers.md#prompt-caching: OpenAI's
// prompt_tokens_details.cached_tokens, OpenRouter's cache_write_tokens beside
// it, Anthropic's cache_read_input_tokens and cache_creation_input_tokens,
// DeepSeek's prompt_cache_hit_tokens), reasoning tokens
// (completion_tokens_details.reasoning_tokens), and the cost from usage.cost
// (OpenRouter), else from `prices` for `model`, else unknown.
Usage usage_from_provider(const nlohmann::json& usage, const std::string& model,
                          const std::map<std::string, Price>& prices);

}  // namespace pipeline::llm

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

// The Usage of a provider's `usage` object: prompt and completion tokens,
// cached tokens (prompt_tokens_details.cached_tokens), reasoning tokens
// (completion_tokens_details.reasoning_tokens), and the cost from usage.cost
// (OpenRouter), else from `prices` for `model`, else unknown.
Usage usage_from_provider(const nlohmann::json& usage, const std::string& model,
                          const std::map<std::string, Price>& prices);

}  // namespace pipeline::llm

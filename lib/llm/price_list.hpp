#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/llm/client_config.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::llm {

// Parses configured prices, for providers that do not return usage.cost:
// "MODEL=PROMPT,COMPLETION[,CACHE_READ[,CACHE_WRITE]]" entries in US dollars
// per million tokens, separated by ';', e.g. "openai/gpt-4o=2.5,10,1.25;llama3=0,0"
// (a cache price left out is the prompt price). Usage errors name the entry.
util::Expected<std::map<std::string, Price>> parse_price_list(std::string_view text);

// The prices a models list gives (the "data" array of GET {base}/models, as
// OpenRouter answers it: "pricing": {"prompt": "0.00000015", "completion":
// "0.0000006", "input_cache_read": ..., "input_cache_write": ...}, US dollars
// per token, as strings or numbers; the cache prices optional), for the models
// among `models` that have both; models without pricing are left out.
std::map<std::string, Price> prices_from_models_list(const nlohmann::json& data,
                                                     const std::vector<std::string>& models);

}  // namespace pipeline::llm

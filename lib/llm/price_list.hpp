#pragma once

#include <map>
#include <string>
#include <string_view>

#include "lib/llm/client_config.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::llm {

// Parses configured prices, for providers that do not return usage.cost:
// "MODEL=PROMPT,COMPLETION" entries in US dollars per million tokens,
// separated by ';', e.g. "openai/gpt-4o=2.5,10;llama3=0,0". Usage errors name the entry.
util::Expected<std::map<std::string, Price>> parse_price_list(std::string_view text);

}  // namespace pipeline::llm

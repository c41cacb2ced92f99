#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "lib/llm/chat.hpp"

namespace pipeline::llm {

// A deliberately high guess of the tokens `text` takes: one per three bytes,
// rounded up. Real tokenizers average about four bytes of English per token,
// so budgets and cost caps built on it err on the safe side.
std::int64_t estimate_tokens(std::string_view text);

// The same guess for a whole prompt: every message's content plus a few
// tokens of framing per message.
std::int64_t estimate_prompt_tokens(const std::vector<Message>& messages);

}  // namespace pipeline::llm

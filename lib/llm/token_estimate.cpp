#include "lib/llm/token_estimate.hpp"

namespace pipeline::llm {

// Role, separators and the like that a chat template wraps around each message.
constexpr std::int64_t k_tokens_per_message = 4;

std::int64_t estimate_tokens(std::string_view text) {
  return static_cast<std::int64_t>((text.size() + 2) / 3);
}

std::int64_t estimate_prompt_tokens(const std::vector<Message>& messages) {
  std::int64_t tokens = 0;
  for (const auto& message : messages) tokens += estimate_tokens(message.content) + k_tokens_per_message;
  return tokens;
}

}  // namespace pipeline::llm

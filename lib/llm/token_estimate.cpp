#include "lib/llm/token_estimate.hpp"

namespace pipeline::llm {
namespace {

// Bytes per token of the guess, and the tokens of role and separators a chat
// template adds around each message.
constexpr std::int64_t k_bytes_per_token = 3;
constexpr std::int64_t k_tokens_per_message = 4;

}  // namespace

std::int64_t estimate_tokens(std::string_view text) {
  return (static_cast<std::int64_t>(text.size()) + k_bytes_per_token - 1) / k_bytes_per_token;
}

std::int64_t estimate_prompt_tokens(const std::vector<Message>& messages) {
  std::int64_t total = 0;
  for (const auto& message : messages) total += estimate_tokens(message.content) + k_tokens_per_message;
  return total;
}

}  // namespace pipeline::llm

#include <cctype>
#include <cstdlib>
#include <string>

#include "lib/llm/client_config.hpp"

namespace pipeline::llm {

// Keys shorter than this are shown fully masked: their ends would give away too much.
constexpr std::size_t k_shortest_partly_shown_key = 16;

std::string ApiKey::masked() const {
  if (value.empty()) return "";
  if (value.size() < k_shortest_partly_shown_key) return std::string(8, '*');
  // Show the vendor prefix up to its second dash (e.g. "sk-or-") and the last four characters.
  std::size_t prefix = 0;
  int dashes = 0;
  for (std::size_t i = 0; i < value.size() && i < 6; ++i) {
    if (value[i] == '-') {
      prefix = i + 1;
      if (++dashes == 2) break;
    }
  }
  return value.substr(0, prefix) + "..." + value.substr(value.size() - 4);
}

std::string ApiKey::redact(std::string text) const {
  if (value.empty()) return text;
  const std::string mask = masked();
  auto token_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; };
  // A long key cannot occur by chance, so it is masked wherever it stands; a
  // short one only where it stands alone, so that "does not exist" survives a key "x".
  const bool anywhere = value.size() >= k_min_key_masked_inside_words;
  for (auto at = text.find(value); at != std::string::npos;) {
    const auto end = at + value.size();
    const bool alone = (at == 0 || !token_char(text[at - 1])) && (end == text.size() || !token_char(text[end]));
    if (!anywhere && !alone) {
      at = text.find(value, at + 1);
      continue;
    }
    text.replace(at, value.size(), mask);
    at = text.find(value, at + mask.size());
  }
  return text;
}

ApiKey api_key_from_environment() {
  for (const char* name : {"PIPELINE_API_KEY", "OPENROUTER_API_KEY", "OPENAI_API_KEY"}) {
    const char* value = std::getenv(name);
    if (value == nullptr) continue;
    // Surrounding whitespace (a newline from `$(cat keyfile)`) is never part of a key.
    std::string key = value;
    const auto first = key.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) continue;
    key = key.substr(first, key.find_last_not_of(" \t\r\n") - first + 1);
    return ApiKey{key, name};
  }
  return {};
}

}  // namespace pipeline::llm

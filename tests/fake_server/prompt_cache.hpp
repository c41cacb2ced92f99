#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

// The fake server's model of a provider's prompt cache, so that tests and the
// benchmark can see what a request layout earns. Tokens are characters / 4,
// as the fake's usage counts them.
namespace pipeline::testing {

enum class CacheRules {
  none,       // nothing is cached (the default)
  openai,     // automatic: the longest prefix shared with a completed request,
              // from 1,024 tokens on, in steps of 128 tokens
  anthropic,  // only up to a content block marked cache_control, as written
              // by a completed request; a new prefix there is a cache write
};

// "none", "openai" or "anthropic"; nullopt for another name.
std::optional<CacheRules> parse_cache_rules(std::string_view name);

// A message's text: its content when it is a string, else the text of its
// content blocks joined in order.
std::string content_text(const nlohmann::json& content);

// A request's prompt in the order a provider reads it: the response schema
// (when the request has one), then every message's role and text. `ends`
// holds the offset after each message or content block, and `breakpoints`
// those of blocks that carry cache_control.
struct PromptStream {
  std::string text;
  std::vector<std::size_t> breakpoints;
  std::int64_t tokens() const;
};
PromptStream prompt_stream(const nlohmann::json& body);

// What one request found in the cache, in tokens.
struct CacheOutcome {
  std::int64_t read_tokens = 0;
  std::int64_t write_tokens = 0;
};

// Thread-safe: requests look up while others complete.
class PromptCache {
 public:
  void set_rules(CacheRules rules);
  CacheRules rules() const;
  // What `stream` reads from (and writes to) the prompts of completed requests.
  CacheOutcome lookup(const PromptStream& stream) const;
  // A request has completed: its prompt can now be read by later requests.
  void complete(PromptStream stream);

 private:
  mutable std::mutex m_mutex;
  CacheRules m_rules = CacheRules::none;
  std::vector<PromptStream> m_completed;
};

}  // namespace pipeline::testing

#include "tests/fake_server/prompt_cache.hpp"

#include <algorithm>

namespace pipeline::testing {
namespace {

constexpr std::int64_t k_chars_per_token = 4;
// OpenAI caches prompts of 1,024 tokens and more, in steps of 128 tokens.
constexpr std::int64_t k_least_cached_tokens = 1024;
constexpr std::int64_t k_cache_step_tokens = 128;
// Anthropic caches nothing shorter than 1,024 tokens (Sonnet and Opus).
constexpr std::int64_t k_least_breakpoint_tokens = 1024;

std::size_t common_prefix(const std::string& a, const std::string& b) {
  const auto length = static_cast<std::ptrdiff_t>(std::min(a.size(), b.size()));
  const auto differ = std::mismatch(a.begin(), a.begin() + length, b.begin());
  return static_cast<std::size_t>(differ.first - a.begin());
}

const nlohmann::json* response_schema(const nlohmann::json& body) {
  auto format = body.find("response_format");
  if (format == body.end() || !format->is_object()) return nullptr;
  auto wrapper = format->find("json_schema");
  if (wrapper == format->end() || !wrapper->is_object()) return nullptr;
  auto schema = wrapper->find("schema");
  return schema == wrapper->end() ? nullptr : &*schema;
}

}  // namespace

std::optional<CacheRules> parse_cache_rules(std::string_view name) {
  if (name == "none") return CacheRules::none;
  if (name == "openai") return CacheRules::openai;
  if (name == "anthropic") return CacheRules::anthropic;
  return std::nullopt;
}

std::string content_text(const nlohmann::json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (!content.is_array()) return text;
  for (const auto& block : content)
    if (block.is_object() && block.contains("text") && block["text"].is_string()) text += block["text"].get<std::string>();
  return text;
}

std::int64_t PromptStream::tokens() const { return static_cast<std::int64_t>(text.size()) / k_chars_per_token; }

PromptStream prompt_stream(const nlohmann::json& body) {
  PromptStream stream;
  if (const auto* schema = response_schema(body)) stream.text += schema->dump() + "\n";
  const auto messages = body.find("messages");
  if (messages == body.end() || !messages->is_array()) return stream;
  for (const auto& message : *messages) {
    if (!message.is_object()) continue;
    stream.text += "<" + message.value("role", std::string()) + ">\n";
    const auto content = message.find("content");
    if (content == message.end()) continue;
    if (!content->is_array()) {
      stream.text += content_text(*content);
      continue;
    }
    for (const auto& block : *content) {
      stream.text += content_text(nlohmann::json::array({block}));
      if (block.is_object() && block.contains("cache_control")) stream.breakpoints.push_back(stream.text.size());
    }
  }
  return stream;
}

void PromptCache::set_rules(CacheRules rules) {
  std::lock_guard lock(m_mutex);
  m_rules = rules;
}

CacheRules PromptCache::rules() const {
  std::lock_guard lock(m_mutex);
  return m_rules;
}

CacheOutcome PromptCache::lookup(const PromptStream& stream) const {
  std::lock_guard lock(m_mutex);
  CacheOutcome outcome;
  if (m_rules == CacheRules::openai) {
    std::size_t longest = 0;
    for (const auto& done : m_completed) longest = std::max(longest, common_prefix(stream.text, done.text));
    const std::int64_t tokens = static_cast<std::int64_t>(longest) / k_chars_per_token;
    if (tokens >= k_least_cached_tokens) outcome.read_tokens = tokens / k_cache_step_tokens * k_cache_step_tokens;
    // The whole prompt is never a hit: the last token is always computed.
    outcome.read_tokens = std::min(outcome.read_tokens, std::max<std::int64_t>(0, stream.tokens() - 1));
  } else if (m_rules == CacheRules::anthropic) {
    // The latest breakpoint whose prefix a completed request wrote is read;
    // the last breakpoint, when it was not, is written.
    std::size_t read_end = 0;
    for (auto offset : stream.breakpoints) {
      if (static_cast<std::int64_t>(offset) / k_chars_per_token < k_least_breakpoint_tokens) continue;
      for (const auto& done : m_completed) {
        const bool written = std::find(done.breakpoints.begin(), done.breakpoints.end(), offset) != done.breakpoints.end();
        if (written && common_prefix(stream.text, done.text) >= offset) {
          read_end = std::max(read_end, offset);
          break;
        }
      }
    }
    outcome.read_tokens = static_cast<std::int64_t>(read_end) / k_chars_per_token;
    if (!stream.breakpoints.empty() && stream.breakpoints.back() > read_end) {
      const std::int64_t end_tokens = static_cast<std::int64_t>(stream.breakpoints.back()) / k_chars_per_token;
      if (end_tokens >= k_least_breakpoint_tokens) outcome.write_tokens = end_tokens - outcome.read_tokens;
    }
  }
  return outcome;
}

void PromptCache::complete(PromptStream stream) {
  std::lock_guard lock(m_mutex);
  if (m_rules == CacheRules::none) return;
  m_completed.push_back(std::move(stream));
}

}  // namespace pipeline::testing

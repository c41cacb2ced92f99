#include "lib/llm/json_extract.hpp"
#include "lib/util/json_text.hpp"

namespace pipeline::llm {
namespace {

std::optional<nlohmann::json> parse_structured(std::string_view text) {
  auto json = util::parse_json_or_discarded(text);
  if (json.is_discarded() || !(json.is_object() || json.is_array())) return std::nullopt;
  return json;
}

std::optional<nlohmann::json> from_fences(std::string_view text) {
  std::size_t search = 0;
  while (true) {
    const auto open = text.find("```", search);
    if (open == std::string_view::npos) return std::nullopt;
    const auto body = text.find('\n', open);
    if (body == std::string_view::npos) return std::nullopt;
    const auto close = text.find("```", body);
    if (close == std::string_view::npos) return std::nullopt;
    if (auto json = parse_structured(text.substr(body + 1, close - body - 1))) return json;
    search = close + 3;
  }
}

// The end of the bracketed value that starts at `start`, honouring strings
// and escapes; npos when it never closes.
std::size_t balanced_end(std::string_view text, std::size_t start) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = start; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i;
    }
  }
  return std::string_view::npos;
}

std::optional<nlohmann::json> from_brackets(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{' && text[i] != '[') continue;
    const auto end = balanced_end(text, i);
    if (end == std::string_view::npos) continue;
    if (auto json = parse_structured(text.substr(i, end - i + 1))) return json;
  }
  return std::nullopt;
}

}  // namespace

std::optional<nlohmann::json> extract_json(std::string_view answer) {
  if (auto json = parse_structured(answer)) return json;
  if (auto json = from_fences(answer)) return json;
  return from_brackets(answer);
}

}  // namespace pipeline::llm

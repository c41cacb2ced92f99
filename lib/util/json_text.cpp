#include "lib/util/json_text.hpp"

#include <fmt/format.h>

namespace pipeline::util {
namespace {

// The byte at which `text` first nests deeper than k_max_json_depth, counting
// only brackets outside strings; npos when it never does.
std::size_t too_deep_at(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > k_max_json_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

// nlohmann's message without its "[json.exception.parse_error.101] " prefix.
std::string plain_parse_error(const nlohmann::json::exception& error) {
  std::string text = error.what();
  const auto bracket = text.find("] ");
  if (text.rfind("[json.exception.", 0) == 0 && bracket != std::string::npos) text.erase(0, bracket + 2);
  return text;
}

}  // namespace

Expected<nlohmann::json> parse_json(std::string_view text, const nlohmann::json::parser_callback_t& callback,
                                    std::size_t* error_byte) {
  if (const auto at = too_deep_at(text); at != std::string_view::npos) {
    if (error_byte) *error_byte = at + 1;
    return fail(ErrorKind::bad_input,
                fmt::format("nested deeper than {} levels (at byte {} of {})", k_max_json_depth, at + 1, text.size()),
                "json_too_deep");
  }
  try {
    return nlohmann::json::parse(text, callback);
  } catch (const nlohmann::json::parse_error& error) {
    if (error_byte) *error_byte = std::min<std::size_t>(error.byte, text.size());
    return fail(ErrorKind::bad_input,
                fmt::format("{} (at byte {} of {})", plain_parse_error(error),
                            std::min<std::size_t>(error.byte, text.size()), text.size()),
                "json_invalid");
  } catch (const nlohmann::json::exception& error) {
    if (error_byte) *error_byte = 0;
    return fail(ErrorKind::bad_input, plain_parse_error(error), "json_invalid");
  }
}

nlohmann::json parse_json_or_discarded(std::string_view text) {
  auto parsed = parse_json(text);
  if (!parsed) return nlohmann::json(nlohmann::json::value_t::discarded);
  return std::move(*parsed);
}

std::string dump_json(const nlohmann::json& value, int indent, bool* replaced) {
  if (replaced) *replaced = false;
  try {
    return value.dump(indent);
  } catch (const nlohmann::json::type_error&) {
    // Only invalid UTF-8 makes dump() throw.
    if (replaced) *replaced = true;
    return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

}  // namespace pipeline::util

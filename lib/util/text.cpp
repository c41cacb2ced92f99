#include "lib/util/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace pipeline::util {

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool is_blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

bool contains_any(std::string_view text, const std::vector<std::string>& needles) {
  return std::any_of(needles.begin(), needles.end(),
                     [text](const std::string& needle) { return text.find(needle) != std::string_view::npos; });
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  }
  return true;
}

std::string escape_control(std::string_view text, bool keep_lines) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte >= 0x20 && byte != 0x7f) || (keep_lines && (c == '\n' || c == '\t'))) {
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      char escape[5];
      std::snprintf(escape, sizeof escape, "\\x%02x", byte);
      out += escape;
    }
  }
  return out;
}

std::string megabytes_text(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

}  // namespace pipeline::util

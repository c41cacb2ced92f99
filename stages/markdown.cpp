#include "stages/markdown.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace pipeline::stages::markdown {
namespace {

std::string escape_cell(std::string_view cell) {
  std::string out;
  for (char c : cell) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += "<br>";
    } else if (c != '\r') {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string heading(int level, std::string_view text) {
  level = std::clamp(level, 1, 6);
  return std::string(static_cast<size_t>(level), '#') + " " + std::string(text) + "\n\n";
}

std::string paragraph(std::string_view text) {
  if (text.empty()) return {};
  return std::string(text) + "\n\n";
}

std::string field(std::string_view label, std::string_view value) {
  if (value.empty()) return {};
  return "**" + std::string(label) + ":** " + std::string(value) + "\n\n";
}

std::string bullet_list(const std::vector<std::string>& items, bool numbered) {
  if (items.empty()) return {};
  std::string out;
  int index = 0;
  for (const auto& item : items) {
    out += numbered ? std::to_string(++index) + ". " : std::string("- ");
    out += item;
    out += "\n";
  }
  return out + "\n";
}

std::string table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows) {
  std::string out = "|";
  for (const auto& header : headers) out += " " + escape_cell(header) + " |";
  out += "\n|";
  for (size_t i = 0; i < headers.size(); ++i) out += " --- |";
  out += "\n";
  for (const auto& row : rows) {
    out += "|";
    for (size_t i = 0; i < headers.size(); ++i) out += " " + (i < row.size() ? escape_cell(row[i]) : std::string()) + " |";
    out += "\n";
  }
  return out + "\n";
}

std::string demote_headings(std::string_view markdown) {
  std::string out;
  out.reserve(markdown.size() + 64);
  bool at_line_start = true;
  for (char c : markdown) {
    if (at_line_start && c == '#') out += '#';
    out += c;
    at_line_start = c == '\n';
  }
  return out;
}

std::string text(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return {};
  auto found = object.find(key);
  if (found == object.end() || !found->is_string()) return {};
  return found->get<std::string>();
}

std::vector<std::string> texts(const nlohmann::json& object, std::string_view key) {
  std::vector<std::string> out;
  for (const auto& item : child(object, key)) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

const nlohmann::json& child(const nlohmann::json& object, std::string_view key) {
  static const nlohmann::json empty = nlohmann::json::array();
  if (!object.is_object()) return empty;
  auto found = object.find(key);
  if (found == object.end() || found->is_null()) return empty;
  return *found;
}

const nlohmann::json& member(const nlohmann::json& object, std::string_view key) {
  static const nlohmann::json none;
  if (!object.is_object()) return none;
  auto found = object.find(key);
  return found == object.end() ? none : *found;
}

std::string number(const nlohmann::json& value, int decimals) {
  if (value.is_number_integer()) return std::to_string(value.get<std::int64_t>());
  if (!value.is_number()) return {};
  double x = value.get<double>();
  if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 1e15) return fmt::format("{:.0f}", x);
  std::string out = fmt::format("{:.{}f}", x, decimals);
  while (!out.empty() && out.back() == '0') out.pop_back();
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::string label(std::string_view enum_value) {
  std::string out(enum_value);
  for (char& c : out) {
    if (c == '_') c = ' ';
  }
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

}  // namespace pipeline::stages::markdown

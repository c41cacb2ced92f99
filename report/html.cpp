#include "report/html.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace pipeline::report::html {
namespace {

constexpr std::string_view k_replacement_character = "\xEF\xBF\xBD";

// The length of the valid UTF-8 sequence starting at `at`, or 0 when it is not one.
size_t utf8_sequence_length(std::string_view text, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  size_t length = 0;
  unsigned least = 0;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    least = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    least = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    least = 0x10000;
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  unsigned code = lead & (0xFF >> (length + 1));
  for (size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(at + i) & 0x3F);
  }
  if (code < least || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Where a *emphasis* opened at `open` closes: a '*' after a non-space that
// is not part of "**"; npos when there is none.
size_t emphasis_close(std::string_view text, size_t open) {
  if (open + 1 >= text.size() || is_space(text[open + 1]) || text[open + 1] == '*') return std::string_view::npos;
  for (size_t at = open + 2; at < text.size(); ++at) {
    if (text[at] != '*') continue;
    if (at + 1 < text.size() && text[at + 1] == '*') return std::string_view::npos;
    if (!is_space(text[at - 1])) return at;
  }
  return std::string_view::npos;
}

// Inline Markdown of one block: **strong** and *emphasis*; everything else escaped.
std::string inline_markdown(std::string_view text) {
  std::string out;
  size_t plain = 0;
  size_t at = 0;
  while (at < text.size()) {
    if (text[at] != '*') {
      ++at;
      continue;
    }
    if (at + 1 < text.size() && text[at + 1] == '*') {
      const size_t close = text.find("**", at + 2);
      if (close != std::string_view::npos && close > at + 2) {
        out += escape(text.substr(plain, at - plain));
        out += "<strong>" + inline_markdown(text.substr(at + 2, close - at - 2)) + "</strong>";
        at = plain = close + 2;
        continue;
      }
      at += 2;
      continue;
    }
    const size_t close = emphasis_close(text, at);
    if (close != std::string_view::npos) {
      out += escape(text.substr(plain, at - plain));
      out += "<em>" + escape(text.substr(at + 1, close - at - 1)) + "</em>";
      at = plain = close + 1;
      continue;
    }
    ++at;
  }
  return out + escape(text.substr(plain));
}

// Inline Markdown of lines joined by line breaks.
std::string inline_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += "<br>";
    out += inline_markdown(lines[i]);
  }
  return out;
}

// The cells of a pipe-table row, with "\|" read as '|' and "<br>" as a line break.
std::vector<std::string> table_cells(std::string_view row) {
  std::vector<std::string> cells;
  std::string cell;
  bool open = false;
  for (size_t at = 0; at < row.size(); ++at) {
    const char c = row[at];
    if (c == '\\' && at + 1 < row.size() && row[at + 1] == '|') {
      cell += '|';
      ++at;
    } else if (c == '|') {
      if (open) cells.push_back(cell);
      cell.clear();
      open = true;
    } else {
      cell += c;
    }
  }
  if (!std::all_of(cell.begin(), cell.end(), is_space)) cells.push_back(cell);
  for (auto& text : cells) {
    const size_t first = text.find_first_not_of(' ');
    const size_t last = text.find_last_not_of(' ');
    text = first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
  }
  return cells;
}

std::string table_cell_html(const std::string& cell, std::string_view tag) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    const size_t br = cell.find("<br>", start);
    lines.push_back(cell.substr(start, br == std::string::npos ? std::string::npos : br - start));
    if (br == std::string::npos) break;
    start = br + 4;
  }
  return "<" + std::string(tag) + ">" + inline_lines(lines) + "</" + std::string(tag) + ">";
}

bool is_separator_row(std::string_view line) {
  return line.find("---") != std::string_view::npos &&
         line.find_first_not_of("|-: ") == std::string_view::npos;
}

// A cell's text as a name says it: line breaks as spaces, no emphasis marks.
std::string plain_cell_text(std::string_view cell) {
  std::string out;
  for (std::size_t i = 0; i < cell.size(); ++i) {
    if (cell.compare(i, 4, "<br>") == 0) {
      out += ' ';
      i += 3;
    } else if (cell[i] != '*') {
      out += cell[i];
    }
  }
  return out;
}

// A pipe table, in a scroll box named by its column headings.
std::string table_html(const std::vector<std::string>& rows) {
  std::string out = "<table>";
  std::string label;
  size_t first_body = 0;
  if (rows.size() >= 2 && is_separator_row(rows[1])) {
    out += "<thead><tr>";
    for (const auto& cell : table_cells(rows[0])) {
      out += table_cell_html(cell, "th");
      label += (label.empty() ? "Table: " : ", ") + plain_cell_text(cell);
    }
    out += "</tr></thead>";
    first_body = 2;
  }
  out += "<tbody>";
  for (size_t i = first_body; i < rows.size(); ++i) {
    out += "<tr>";
    for (const auto& cell : table_cells(rows[i])) out += table_cell_html(cell, "td");
    out += "</tr>";
  }
  return scroll_box(out + "</tbody></table>", label.empty() ? "Table" : label) + "\n";
}

// The text after "N. " of a numbered item, or npos when the line is none.
size_t numbered_item_start(std::string_view line) {
  size_t digits = 0;
  while (digits < line.size() && std::isdigit(static_cast<unsigned char>(line[digits]))) ++digits;
  if (digits == 0 || digits + 1 >= line.size() || line[digits] != '.' || line[digits + 1] != ' ') {
    return std::string_view::npos;
  }
  return digits + 2;
}

int heading_level(std::string_view line) {
  size_t level = 0;
  while (level < line.size() && line[level] == '#') ++level;
  if (level == 0 || level > 6 || level >= line.size() || line[level] != ' ') return 0;
  return static_cast<int>(level);
}

// Builds HTML from Markdown one block at a time.
class MarkdownBlocks {
 public:
  explicit MarkdownBlocks(int heading_shift) : m_heading_shift(heading_shift) {}

  void line(const std::string& line) {
    if (std::all_of(line.begin(), line.end(), is_space)) {
      close();
      return;
    }
    if (const int level = heading_level(line); level > 0) {
      close();
      const int shifted = std::clamp(level + m_heading_shift, 1, 6);
      const std::string tag = "h" + std::to_string(shifted);
      m_out += "<" + tag + ">" + inline_markdown(line.substr(static_cast<size_t>(level) + 1)) + "</" + tag + ">\n";
      return;
    }
    if (line[0] == '|') {
      if (m_kind != Kind::table) close();
      m_kind = Kind::table;
      m_lines.push_back(line);
      return;
    }
    const bool bullet = line.rfind("- ", 0) == 0;
    const size_t numbered = numbered_item_start(line);
    if (bullet || numbered != std::string::npos) {
      const Kind kind = bullet ? Kind::bullets : Kind::numbers;
      if (m_kind != kind) close();
      m_kind = kind;
      flush_item();
      m_lines.push_back(line.substr(bullet ? 2 : numbered));
      return;
    }
    if (line.rfind("> ", 0) == 0 && m_kind != Kind::quote) {
      close();
      m_kind = Kind::quote;
      m_lines.push_back(line.substr(2));
      return;
    }
    // A line that starts no block continues the open one.
    if (m_kind == Kind::none || m_kind == Kind::table) {
      close();
      m_kind = Kind::paragraph;
    }
    m_lines.push_back(m_kind == Kind::quote && line.rfind("> ", 0) == 0 ? line.substr(2) : line);
  }

  std::string finish() {
    close();
    return std::move(m_out);
  }

 private:
  enum class Kind { none, paragraph, quote, bullets, numbers, table };

  // Ends the list item being gathered.
  void flush_item() {
    if (m_lines.empty()) return;
    m_items.push_back("<li>" + inline_lines(m_lines) + "</li>");
    m_lines.clear();
  }

  void close() {
    switch (m_kind) {
      case Kind::none:
        break;
      case Kind::paragraph:
        m_out += "<p>" + inline_lines(m_lines) + "</p>\n";
        break;
      case Kind::quote:
        m_out += "<blockquote>" + inline_lines(m_lines) + "</blockquote>\n";
        break;
      case Kind::bullets:
      case Kind::numbers: {
        flush_item();
        const std::string tag = m_kind == Kind::bullets ? "ul" : "ol";
        m_out += "<" + tag + ">";
        for (const auto& item : m_items) m_out += item;
        m_out += "</" + tag + ">\n";
        break;
      }
      case Kind::table:
        m_out += table_html(m_lines);
        break;
    }
    m_kind = Kind::none;
    m_lines.clear();
    m_items.clear();
  }

  int m_heading_shift;
  Kind m_kind = Kind::none;
  std::vector<std::string> m_lines;
  std::vector<std::string> m_items;
  std::string m_out;
};

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  size_t at = 0;
  while (at < text.size()) {
    const char c = text[at];
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      const size_t length = utf8_sequence_length(text, at);
      if (length == 0) {
        out += k_replacement_character;
        ++at;
      } else {
        out.append(text.substr(at, length));
        at += length;
      }
      continue;
    }
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\t':
      case '\n': out += c; break;
      case '\r': break;
      default:
        if (byte >= 0x20 && byte != 0x7F) out += c;
    }
    ++at;
  }
  return out;
}

std::string element(std::string_view tag, std::string_view text, std::string_view css_class) {
  std::string out = "<" + std::string(tag);
  if (!css_class.empty()) out += " class=\"" + escape(css_class) + "\"";
  return out + ">" + escape(text) + "</" + std::string(tag) + ">";
}

std::string scroll_box(std::string_view table_html, std::string_view label) {
  return "<div class=\"scroll-box\" role=\"region\" tabindex=\"0\" aria-label=\"" + escape(label) + "\">" +
         std::string(table_html) + "</div>";
}

std::string from_markdown(std::string_view markdown, int heading_shift) {
  MarkdownBlocks blocks(heading_shift);
  size_t start = 0;
  while (start < markdown.size()) {
    size_t end = markdown.find('\n', start);
    if (end == std::string_view::npos) end = markdown.size();
    std::string line(markdown.substr(start, end - start));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    blocks.line(line);
    start = end + 1;
  }
  return blocks.finish();
}

std::string file_name(std::string_view source) {
  std::string_view name = source;
  if (const auto cut = name.find_first_of("?#"); name.find("://") != std::string_view::npos && cut != std::string_view::npos) {
    name = name.substr(0, cut);
  }
  while (!name.empty() && (name.back() == '/' || name.back() == '\\')) name.remove_suffix(1);
  if (const auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) name = name.substr(slash + 1);
  return name.empty() ? std::string(source) : std::string(name);
}

}  // namespace pipeline::report::html

#include "stages/page_chunks.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "lib/llm/token_estimate.hpp"

namespace pipeline::stages {
namespace {

bool is_utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The length of the longest prefix of `text` whose estimate is at most `max_tokens`.
size_t longest_fitting_prefix(std::string_view text, std::int64_t max_tokens) {
  size_t fits = 0;
  size_t too_long = text.size() + 1;
  while (too_long - fits > 1) {
    const size_t middle = fits + (too_long - fits) / 2;
    if (llm::estimate_tokens(text.substr(0, middle)) <= max_tokens) {
      fits = middle;
    } else {
      too_long = middle;
    }
  }
  return fits;
}

// Where to end the next piece of `text`, which does not fit: after the last
// paragraph break, else line break, within the fitting prefix, else at the last
// character boundary in it; always after at least one character. A break is
// taken only past half the fitting prefix, so an early one leaves no tiny piece.
size_t cut_position(std::string_view text, std::int64_t max_tokens) {
  const size_t fitting = longest_fitting_prefix(text, max_tokens);
  const size_t least = fitting / 2;
  if (fitting >= 2) {
    if (size_t at = text.rfind("\n\n", fitting - 2); at != std::string_view::npos && at + 2 > least) return at + 2;
  }
  if (fitting >= 1) {
    if (size_t at = text.rfind('\n', fitting - 1); at != std::string_view::npos && at + 1 > least) return at + 1;
  }
  size_t cut = fitting;
  while (cut > 0 && cut < text.size() && is_utf8_continuation(text[cut])) --cut;
  if (cut > 0) return cut;
  cut = 1;
  while (cut < text.size() && is_utf8_continuation(text[cut])) ++cut;
  return cut;
}

std::vector<std::string_view> split_long_page(std::string_view page, std::int64_t max_tokens) {
  std::vector<std::string_view> pieces;
  while (llm::estimate_tokens(page) > max_tokens) {
    const size_t cut = cut_position(page, max_tokens);
    pieces.push_back(page.substr(0, cut));
    page.remove_prefix(cut);
  }
  if (!page.empty()) pieces.push_back(page);
  return pieces;
}

}  // namespace

int page_count(std::string_view text) { return static_cast<int>(std::count(text.begin(), text.end(), '\f')) + 1; }

std::vector<PageChunk> page_chunks(std::string_view text, std::int64_t max_tokens) {
  std::vector<std::string_view> pages;
  for (size_t start = 0;;) {
    const size_t end = text.find('\f', start);
    pages.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  // The text from the start of page `first` to the end of page `last` (0-based).
  const auto span = [&](size_t first, size_t last) {
    const auto begin = static_cast<size_t>(pages[first].data() - text.data());
    const auto end = static_cast<size_t>(pages[last].data() - text.data()) + pages[last].size();
    return text.substr(begin, end - begin);
  };

  std::vector<PageChunk> chunks;
  for (size_t first = 0; first < pages.size();) {
    const int page_number = static_cast<int>(first) + 1;
    if (llm::estimate_tokens(pages[first]) > max_tokens) {
      const auto pieces = split_long_page(pages[first], max_tokens);
      for (size_t i = 0; i < pieces.size(); ++i) {
        chunks.push_back({page_number, page_number, static_cast<int>(i) + 1, static_cast<int>(pieces.size()), std::string(pieces[i])});
      }
      ++first;
      continue;
    }
    size_t last = first;
    while (last + 1 < pages.size() && llm::estimate_tokens(span(first, last + 1)) <= max_tokens) ++last;
    chunks.push_back({page_number, static_cast<int>(last) + 1, 1, 1, std::string(span(first, last))});
    first = last + 1;
  }
  return chunks;
}

std::string page_range_label(const PageChunk& chunk, int page_count) {
  if (chunk.parts > 1) return fmt::format("page {} of {}, part {} of {}", chunk.first_page, page_count, chunk.part, chunk.parts);
  if (chunk.first_page == chunk.last_page) return fmt::format("page {} of {}", chunk.first_page, page_count);
  return fmt::format("pages {}\u2013{} of {}", chunk.first_page, chunk.last_page, page_count);
}

}  // namespace pipeline::stages

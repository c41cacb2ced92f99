#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pipeline::stages {

// A run of consecutive pages of a document (1-based, inclusive), or one piece
// of a single page too long for a chunk on its own (then first_page ==
// last_page and parts > 1).
struct PageChunk {
  int first_page = 1;
  int last_page = 1;
  int part = 1;   // 1-based piece of the page
  int parts = 1;  // pieces the page was cut into; 1 for whole pages
  std::string text;
};

// The number of pages of a document whose pages are separated by '\f'.
int page_count(std::string_view text);

// Cuts `text` (pages separated by '\f') into consecutive chunks of whole
// pages, each at most `max_tokens` by llm::estimate_tokens, as few as a greedy
// fill gives. A page that is too long alone is cut into pieces at paragraph
// breaks, else line breaks, else UTF-8 character boundaries. Joining the
// chunks' texts with '\f' (pieces of a page without it) gives back `text`.
// A piece is never empty: with a max_tokens too small for one character, a
// piece holds one character anyway.
std::vector<PageChunk> page_chunks(std::string_view text, std::int64_t max_tokens);

// "pages 3–7 of 30", "page 4 of 30" or "page 4 of 30, part 2 of 3".
std::string page_range_label(const PageChunk& chunk, int page_count);

}  // namespace pipeline::stages

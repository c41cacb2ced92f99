#include <doctest/doctest.h>

#include "lib/llm/token_estimate.hpp"
#include "stages/page_chunks.hpp"

using namespace pipeline;
using stages::page_chunks;
using stages::PageChunk;

namespace {

// `count` pages "Page N." padded with filler to about `bytes` each.
std::string pages_text(int count, size_t bytes) {
  std::string text;
  for (int i = 1; i <= count; ++i) {
    if (i > 1) text += '\f';
    std::string page = "Page " + std::to_string(i) + ".";
    while (page.size() + 13 <= bytes) page += " Some words.\n";
    text += page;
  }
  return text;
}

// The chunks' texts joined back: '\f' between pages, nothing between pieces of a page.
std::string joined(const std::vector<PageChunk>& chunks) {
  std::string text;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i > 0 && chunks[i].part == 1) text += '\f';
    text += chunks[i].text;
  }
  return text;
}

}  // namespace

TEST_CASE("page_count counts form feeds plus one") {
  CHECK(stages::page_count("") == 1);
  CHECK(stages::page_count("one page") == 1);
  CHECK(stages::page_count("a\fb\fc") == 3);
  CHECK(stages::page_count("a\f") == 2);
}

TEST_CASE("a text within the limit is one chunk of all its pages") {
  const std::string text = pages_text(4, 100);
  const auto chunks = page_chunks(text, 1000);
  REQUIRE(chunks.size() == 1);
  CHECK(chunks[0].first_page == 1);
  CHECK(chunks[0].last_page == 4);
  CHECK(chunks[0].parts == 1);
  CHECK(chunks[0].text == text);
}

TEST_CASE("pages fill consecutive chunks, each within the limit, covering every page once") {
  const std::string text = pages_text(30, 900);  // 300 tokens a page
  const auto chunks = page_chunks(text, 1000);
  REQUIRE(chunks.size() == 10);
  int next_page = 1;
  for (const auto& chunk : chunks) {
    CHECK(chunk.first_page == next_page);
    CHECK(chunk.last_page == chunk.first_page + 2);
    CHECK(chunk.parts == 1);
    CHECK(llm::estimate_tokens(chunk.text) <= 1000);
    CHECK(chunk.text.rfind("Page " + std::to_string(chunk.first_page) + ".", 0) == 0);
    next_page = chunk.last_page + 1;
  }
  CHECK(next_page == 31);
  CHECK(joined(chunks) == text);
}

TEST_CASE("a page too long alone is cut at paragraph breaks, and its neighbours stay whole") {
  std::string long_page;
  for (int i = 0; i < 12; ++i) long_page += "Paragraph " + std::to_string(i) + std::string(400, 'x') + "\n\n";
  const std::string text = "Short first page\f" + long_page + "\fShort last page";
  const auto chunks = page_chunks(text, 500);  // 1500 bytes
  REQUIRE(chunks.size() >= 5);
  CHECK(chunks.front().first_page == 1);
  CHECK(chunks.front().last_page == 1);
  CHECK(chunks.front().text == "Short first page");
  CHECK(chunks.back().first_page == 3);
  CHECK(chunks.back().text == "Short last page");
  const int pieces = static_cast<int>(chunks.size()) - 2;
  for (int i = 1; i <= pieces; ++i) {
    const auto& piece = chunks[static_cast<size_t>(i)];
    CHECK(piece.first_page == 2);
    CHECK(piece.last_page == 2);
    CHECK(piece.part == i);
    CHECK(piece.parts == pieces);
    CHECK(llm::estimate_tokens(piece.text) <= 500);
    CHECK(piece.text.rfind("Paragraph ", 0) == 0);
  }
  CHECK(joined(chunks) == text);
}

TEST_CASE("without paragraph breaks a long page is cut at lines, then at characters, never inside one") {
  std::string lines;
  for (int i = 0; i < 40; ++i) lines += "line " + std::to_string(i) + " " + std::string(50, 'y') + "\n";
  const auto by_line = page_chunks(lines, 100);  // 300 bytes
  REQUIRE(by_line.size() > 1);
  for (const auto& piece : by_line) {
    CHECK(llm::estimate_tokens(piece.text) <= 100);
    CHECK(piece.text.back() == '\n');
  }
  CHECK(joined(by_line) == lines);

  std::string accented;
  for (int i = 0; i < 500; ++i) accented += "\xc3\xa9";  // é, two bytes
  const auto by_character = page_chunks(accented, 100);
  REQUIRE(by_character.size() > 1);
  for (const auto& piece : by_character) {
    CHECK(llm::estimate_tokens(piece.text) <= 100);
    CHECK(piece.text.size() % 2 == 0);
  }
  CHECK(joined(by_character) == accented);
}

TEST_CASE("a limit too small for one character still cuts whole characters") {
  const std::string bread = "\xf0\x9f\x8d\x9e";  // four bytes: over one token of three bytes
  const auto chunks = page_chunks(bread + bread, 1);
  REQUIRE(chunks.size() == 2);
  CHECK(chunks[0].text == bread);
  CHECK(chunks[1].text == bread);
}

TEST_CASE("empty pages count as pages") {
  const auto chunks = page_chunks("a\f\fc", 1000);
  REQUIRE(chunks.size() == 1);
  CHECK(chunks[0].last_page == 3);
}

TEST_CASE("page_range_label names the pages, and the part of a cut page") {
  CHECK(stages::page_range_label({3, 7, 1, 1, {}}, 30) == "pages 3\u20137 of 30");
  CHECK(stages::page_range_label({4, 4, 1, 1, {}}, 30) == "page 4 of 30");
  CHECK(stages::page_range_label({4, 4, 2, 3, {}}, 30) == "page 4 of 30, part 2 of 3");
}

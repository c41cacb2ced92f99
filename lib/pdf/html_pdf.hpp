#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "lib/util/expected.hpp"

namespace pipeline::pdf {

struct HtmlPdfOptions {
  std::string title;         // the document information's Title, if not empty
  std::string author;        // the document information's Author, if not empty
  std::string language;      // the catalog's Lang, a BCP 47 tag such as "en", if not empty
  std::string css;           // extra style sheet for the HTML
  float page_width = 595;    // points; A4 by default
  float page_height = 842;
  float margin = 60;
  float font_size = 10.5;    // points, the size of 1em
  bool subset_fonts = true;  // embed only the glyphs the pages draw
};

// The HTML with U+200C (zero-width non-joiner) between an "f" and a following
// "f", "i" or "l" in its text, outside tags, entities, style and script, so
// that MuPDF's layout writes plain letters into the text layer instead of
// ligature code points (U+FB00-U+FB06) that searches do not match.
std::string break_ligatures(std::string_view html);

// Lays out `html` with MuPDF's HTML story engine over as many pages as it
// needs and writes them to `path` as a PDF with a real text layer. Returns
// the number of pages. The text goes through break_ligatures first.
util::Expected<int> write_html_pdf(const std::filesystem::path& path, std::string_view html,
                                   const HtmlPdfOptions& options = {});

// The same PDF as write_html_pdf, as bytes in memory.
util::Expected<std::string> render_html_pdf(std::string_view html, const HtmlPdfOptions& options = {});

}  // namespace pipeline::pdf

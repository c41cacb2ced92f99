#include <doctest/doctest.h>

#include <string>

#include "lib/pdf/extract.hpp"
#include "lib/pdf/html_pdf.hpp"
#include "tests/support/pdf_builder.hpp"
#include "tests/support/process.hpp"

namespace testing = pipeline::testing;

TEST_CASE("write_html_pdf lays out HTML over pages that extract_text reads back") {
  testing::TempDir dir;
  std::string html = "<html><body><h1>Field notes</h1>";
  for (int i = 1; i <= 120; ++i) {
    html += "<p>Paragraph " + std::to_string(i) + " describes the refill counter in store number " +
            std::to_string(i) + ", where shoppers weigh their own tins.</p>";
  }
  html += "</body></html>";
  pipeline::pdf::HtmlPdfOptions options;
  options.title = "Field notes";
  auto pages = pipeline::pdf::write_html_pdf(dir / "notes.pdf", html, options);
  REQUIRE(pages.has_value());
  CHECK(*pages >= 2);

  auto document = pipeline::pdf::extract_text(dir / "notes.pdf");
  REQUIRE(document.has_value());
  CHECK(document->pages == *pages);
  CHECK(document->title == "Field notes");
  CHECK(document->text.rfind("Field notes\n", 0) == 0);
  // Every paragraph survives, in order, across the page breaks.
  std::size_t at = 0;
  for (int i = 1; i <= 120; ++i) {
    const auto next = document->text.find("Paragraph " + std::to_string(i) + " ", at);
    REQUIRE_MESSAGE(next != std::string::npos, "paragraph " << i);
    at = next;
  }
}

TEST_CASE("write_html_pdf reports a file it cannot write") {
  testing::TempDir dir;
  auto pages = pipeline::pdf::write_html_pdf(dir / "no-such-folder/notes.pdf", "<p>text</p>");
  REQUIRE_FALSE(pages.has_value());
  CHECK(pages.error().message.find("no-such-folder/notes.pdf") != std::string::npos);
}

TEST_CASE("render_html_pdf gives in memory the PDF that write_html_pdf writes") {
  testing::TempDir dir;
  const std::string html = "<html><body><h1>Shelf notes</h1><p>Two packs per store per week.</p>"
                           "<p style=\"page-break-before: always\">A second page.</p></body></html>";
  pipeline::pdf::HtmlPdfOptions options;
  options.title = "Shelf notes";
  auto bytes = pipeline::pdf::render_html_pdf(html, options);
  REQUIRE(bytes.has_value());
  CHECK(bytes->rfind("%PDF-", 0) == 0);
  REQUIRE(pipeline::pdf::write_html_pdf(dir / "written.pdf", html, options).has_value());
  CHECK(*bytes == testing::read_bytes(dir / "written.pdf"));

  testing::write_bytes(dir / "rendered.pdf", *bytes);
  auto document = pipeline::pdf::extract_text(dir / "rendered.pdf");
  REQUIRE(document.has_value());
  CHECK(document->pages == 2);
  CHECK(document->title == "Shelf notes");
  CHECK(document->text.find("Two packs per store per week.") != std::string::npos);
  CHECK(document->text.find("A second page.") != std::string::npos);
}

TEST_CASE("the shipped example case study is a 2-to-4 page PDF with text and a title") {
  auto document = pipeline::pdf::extract_text(PIPELINE_SOURCE_DIR "/examples/example-case-study.pdf");
  REQUIRE(document.has_value());
  CHECK(document->pages >= 2);
  CHECK(document->pages <= 4);
  CHECK_FALSE(document->title.empty());
  CHECK(document->chars() > 5000);
}

TEST_CASE("break_ligatures parts f from f, i and l in text only") {
  const std::string zwnj = "\xE2\x80\x8C";
  CHECK(pipeline::pdf::break_ligatures("<p>refill five</p>") == "<p>ref" + zwnj + "ill f" + zwnj + "ive</p>");
  CHECK(pipeline::pdf::break_ligatures("<p>off flat</p>") == "<p>of" + zwnj + "f f" + zwnj + "lat</p>");
  // Tags, attributes, entities, style and script stay as written.
  const std::string kept = "<div class=\"fill\" data-fi=\"fl\"><style>.fill { fill: red; }</style>"
                           "<script>if (x) fly();</script><!-- fill -->&lfloor;</div>";
  CHECK(pipeline::pdf::break_ligatures(kept) == kept);
  CHECK(pipeline::pdf::break_ligatures("plain text") == "plain text");
}

TEST_CASE("write_html_pdf writes plain letters, the author and the language") {
  testing::TempDir dir;
  pipeline::pdf::HtmlPdfOptions options;
  options.title = "Refill notes";
  options.author = "pipeline test";
  options.language = "en";
  const std::string html = "<html><body><p>The refill office offers five flavours of waffle.</p></body></html>";
  REQUIRE(pipeline::pdf::write_html_pdf(dir / "plain.pdf", html, options).has_value());
  auto text = testing::run_process({"pdftotext", dir / "plain.pdf", "-"});
  REQUIRE(text.exit_code == 0);
  for (const char* ligature : {"\xEF\xAC\x80", "\xEF\xAC\x81", "\xEF\xAC\x82", "\xEF\xAC\x83", "\xEF\xAC\x84"}) {
    CHECK(text.out.find(ligature) == std::string::npos);
  }
  CHECK(text.out.find("The refill office offers five flavours of waffle.") != std::string::npos);
  auto info = testing::run_process({"pdfinfo", dir / "plain.pdf"});
  REQUIRE(info.exit_code == 0);
  CHECK(info.out.find("Author:") != std::string::npos);
  CHECK(info.out.find("pipeline test") != std::string::npos);
  CHECK(testing::read_bytes(dir / "plain.pdf").find("/Lang") != std::string::npos);
}

TEST_CASE("write_html_pdf embeds only the glyphs it draws, and the pages look the same as with whole fonts") {
  testing::TempDir dir;
  const std::string html =
      "<html><body><h1>Shelf notes</h1><p style=\"font-family: sans-serif\">Sans text, <b>bold</b>, <i>italic</i> "
      "and <span style=\"font-family: monospace\">mono 42</span>.</p>"
      "<p>Serif text, <b>bold serif</b> and <i>italic serif</i>.</p>"
      "<p style=\"page-break-before: always\">A second page with other letters: jukebox QWERTY.</p></body></html>";
  pipeline::pdf::HtmlPdfOptions options;
  options.subset_fonts = false;
  REQUIRE(pipeline::pdf::write_html_pdf(dir / "whole.pdf", html, options).has_value());
  options.subset_fonts = true;
  REQUIRE(pipeline::pdf::write_html_pdf(dir / "subset.pdf", html, options).has_value());
  const auto whole = testing::read_bytes(dir / "whole.pdf");
  const auto subset = testing::read_bytes(dir / "subset.pdf");
  CAPTURE(whole.size());
  CAPTURE(subset.size());
  CHECK(subset.size() * 4 < whole.size());

  // pdffonts: every font embedded, marked a subset ("ABCDEF+" before its name), with a ToUnicode map.
  auto fonts = testing::run_process({"pdffonts", dir / "subset.pdf"});
  REQUIRE(fonts.exit_code == 0);
  INFO(fonts.out);
  int listed = 0;
  std::size_t at = fonts.out.find("\n---");
  at = fonts.out.find('\n', at + 1);
  while (at != std::string::npos && at + 1 < fonts.out.size()) {
    const std::size_t end = fonts.out.find('\n', at + 1);
    const std::string line = fonts.out.substr(at + 1, end - at - 1);
    at = end;
    if (line.empty()) continue;
    ++listed;
    CHECK_MESSAGE(line.find(" yes yes yes ") != std::string::npos, line);
    CHECK_MESSAGE((line.size() > 7 && line[6] == '+'), line);
  }
  CHECK(listed >= 6);

  // Drawn by MuPDF and read by pdftotext, both files are the same.
  for (const char* name : {"whole", "subset"}) {
    auto drawn = testing::run_process({"mutool", "draw", "-q", "-r", "50", "-c", "gray", "-o",
                                       dir / (std::string(name) + "-%d.pgm"), dir / (std::string(name) + ".pdf")});
    REQUIRE(drawn.exit_code == 0);
  }
  for (const char* page : {"1", "2"}) {
    const auto before = testing::read_bytes(dir / (std::string("whole-") + page + ".pgm"));
    const auto after = testing::read_bytes(dir / (std::string("subset-") + page + ".pgm"));
    CHECK(before.size() > 1000);
    CHECK_MESSAGE(before == after, "page " << page);
  }
  CHECK(testing::run_process({"pdftotext", dir / "whole.pdf", "-"}).out ==
        testing::run_process({"pdftotext", dir / "subset.pdf", "-"}).out);
}

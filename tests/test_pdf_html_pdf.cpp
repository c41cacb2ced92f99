#include <doctest/doctest.h>

#include <string>

#include "lib/pdf/extract.hpp"
#include "lib/pdf/html_pdf.hpp"
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

TEST_CASE("the shipped example case study is a 2-to-4 page PDF with text and a title") {
  auto document = pipeline::pdf::extract_text(PIPELINE_SOURCE_DIR "/examples/example-case-study.pdf");
  REQUIRE(document.has_value());
  CHECK(document->pages >= 2);
  CHECK(document->pages <= 4);
  CHECK_FALSE(document->title.empty());
  CHECK(document->chars() > 5000);
}

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "lib/pdf/extract.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/sha256.hpp"
#include "tests/support/pdf_builder.hpp"
#include "tests/support/process.hpp"

using pipeline::pdf::ExtractedDocument;
using pipeline::pdf::extract_text;
using pipeline::util::ErrorKind;
namespace testing = pipeline::testing;

namespace {

// The error of an extraction that must fail.
pipeline::util::Error extraction_error(const std::string& path) {
  auto result = extract_text(path);
  REQUIRE_FALSE(result.has_value());
  return result.error();
}

testing::PdfBuildOptions with_title(const std::string& title) {
  testing::PdfBuildOptions options;
  options.title = title;
  return options;
}

testing::PdfBuildOptions with_passwords(const std::string& user, const std::string& owner) {
  testing::PdfBuildOptions options;
  options.user_password = user;
  options.owner_password = owner;
  return options;
}

std::vector<std::string> split_pages(const std::string& text) {
  std::vector<std::string> pages(1);
  for (char c : text) {
    if (c == '\f') pages.emplace_back();
    else pages.back() += c;
  }
  return pages;
}

}  // namespace

TEST_CASE("extract_text returns every page in order, separated by form feeds") {
  testing::TempDir dir;
  const auto path = dir / "three.pdf";
  testing::write_text_pdf(path,
                          {"Refill stations cut packaging.\nSecond line of page one.", "Page two talks about pricing.",
                           "Page three closes (with brackets)."},
                          with_title("Refill Case Study"));
  auto document = extract_text(path);
  REQUIRE(document.has_value());
  CHECK(document->pages == 3);
  CHECK(document->path == path);
  CHECK(document->title == "Refill Case Study");
  const auto pages = split_pages(document->text);
  REQUIRE(pages.size() == 3);
  CHECK(pages[0] == "Refill stations cut packaging.\nSecond line of page one.");
  CHECK(pages[1] == "Page two talks about pricing.");
  CHECK(pages[2] == "Page three closes (with brackets).");
}

TEST_CASE("extract_text records the file's size and SHA-256") {
  testing::TempDir dir;
  const auto path = dir / "hash.pdf";
  testing::write_text_pdf(path, {"Some text to hash."});
  const auto bytes = testing::read_bytes(path);
  auto document = extract_text(path);
  REQUIRE(document.has_value());
  CHECK(document->bytes == bytes.size());
  CHECK(document->sha256 == pipeline::util::sha256_hex(bytes));
  CHECK(document->sha256.size() == 64);
  CHECK(document->title.empty());
  CHECK(document->chars() == document->text.size());
}

TEST_CASE("extract_text joins words hyphenated at the end of a line") {
  testing::TempDir dir;
  const auto path = dir / "hyphen.pdf";
  testing::write_text_pdf(path, {"The subscription removed the fric-\ntion of reordering every month."});
  auto document = extract_text(path);
  REQUIRE(document.has_value());
  CHECK(document->text.find("friction") != std::string::npos);
  CHECK(document->text.find("fric-") == std::string::npos);
}

TEST_CASE("chars counts Unicode code points, not bytes") {
  ExtractedDocument document;
  document.text = "caf\xc3\xa9 \xe2\x82\xac" "5\f\xf0\x9f\x98\x80";  // "café €5\f😀"
  CHECK(document.chars() == 9);
}

TEST_CASE("extract_text refuses a missing file, a directory and an empty file") {
  testing::TempDir dir;
  SUBCASE("missing") {
    const auto error = extraction_error(dir / "nope.pdf");
    CHECK(error.kind == ErrorKind::bad_input);
    CHECK(error.message.find(dir / "nope.pdf") != std::string::npos);
    CHECK(error.message.find("does not exist") != std::string::npos);
  }
  SUBCASE("directory") {
    const auto error = extraction_error(dir.path());
    CHECK(error.kind == ErrorKind::bad_input);
    CHECK(error.message.find("is a directory") != std::string::npos);
  }
  SUBCASE("empty") {
    testing::write_bytes(dir / "empty.pdf", "");
    const auto error = extraction_error(dir / "empty.pdf");
    CHECK(error.kind == ErrorKind::bad_input);
    CHECK(error.message.find("is empty") != std::string::npos);
  }
  SUBCASE("a FIFO and a device are refused at once, never waited on or read without end") {
    const auto fifo = dir / "named.pdf";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto start = std::chrono::steady_clock::now();
    auto error = extraction_error(fifo);
    CHECK(error.kind == ErrorKind::bad_input);
    CHECK(error.message.find("not a regular file") != std::string::npos);
    error = extraction_error("/dev/zero");
    CHECK(error.kind == ErrorKind::bad_input);
    CHECK(error.message.find("not a regular file") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  }
}

TEST_CASE("extract_text refuses files that MuPDF could open but are not PDFs") {
  testing::TempDir dir;
  // The first bytes of a PNG and of an EPUB (a zip) file.
  static constexpr char k_png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
  static constexpr char k_epub[] = "PK\x03\x04\x14\0\0\0\0\0mimetypeapplication/epub+zip";
  const std::string png(k_png, sizeof(k_png) - 1);
  const std::string epub(k_epub, sizeof(k_epub) - 1);
  for (const auto& [name, bytes] : {std::pair{"image.pdf", png}, std::pair{"book.epub", epub},
                                    std::pair{"notes.txt", std::string("just some notes\n")}}) {
    CAPTURE(name);
    testing::write_bytes(dir / name, bytes);
    const auto error = extraction_error(dir / name);
    CHECK(error.kind == ErrorKind::bad_input);
    CHECK(error.message.find("is not a PDF") != std::string::npos);
    CHECK(error.message.find(dir / name) != std::string::npos);
  }
}

TEST_CASE("extract_text refuses a truncated PDF") {
  testing::TempDir dir;
  std::vector<std::string> pages;
  for (int i = 1; i <= 6; ++i) pages.push_back("Page " + std::to_string(i) + " of a report that gets cut short.");
  testing::write_text_pdf(dir / "whole.pdf", pages);
  for (double fraction : {0.2, 0.5, 0.8, 0.98}) {
    CAPTURE(fraction);
    testing::write_truncated_copy(dir / "whole.pdf", dir / "cut.pdf", fraction);
    const auto error = extraction_error(dir / "cut.pdf");
    CHECK(error.kind == ErrorKind::bad_input);
    CHECK(error.message.find(dir / "cut.pdf") != std::string::npos);
    const bool says_why = error.message.find("truncated") != std::string::npos ||
                          error.message.find("damaged") != std::string::npos;
    CHECK(says_why);
  }
}

TEST_CASE("extract_text refuses a PDF that needs a user password") {
  testing::TempDir dir;
  testing::write_text_pdf(dir / "locked.pdf", {"Confidential numbers."},
                          with_passwords("open-sesame", "owner"));
  const auto error = extraction_error(dir / "locked.pdf");
  CHECK(error.kind == ErrorKind::bad_input);
  CHECK(error.message.find("password") != std::string::npos);
}

TEST_CASE("extract_text reads a PDF encrypted with only an owner password") {
  testing::TempDir dir;
  testing::write_text_pdf(dir / "owner.pdf", {"Readable by anyone."}, with_passwords("", "owner"));
  auto document = extract_text(dir / "owner.pdf");
  REQUIRE(document.has_value());
  CHECK(document->text == "Readable by anyone.");
}

TEST_CASE("extract_text refuses a PDF without a text layer") {
  testing::TempDir dir;
  SUBCASE("scanned pages") { testing::write_image_only_pdf(dir / "scan.pdf", 2); }
  SUBCASE("vector drawing") {
    // Shares the file name so that both subcases check the same way.
    testing::write_drawing_only_pdf(dir / "scan.pdf");
  }
  const auto error = extraction_error(dir / "scan.pdf");
  CHECK(error.kind == ErrorKind::bad_input);
  CHECK(error.message.find("no text layer") != std::string::npos);
  CHECK(error.message.find("OCR is not supported") != std::string::npos);
}

TEST_CASE("extract_text runs on several threads at once") {
  testing::TempDir dir;
  std::vector<std::string> pages;
  for (int i = 0; i < 20; ++i) pages.push_back("Thread safe page " + std::to_string(i));
  testing::write_text_pdf(dir / "many.pdf", pages);
  auto first = std::async(std::launch::async, [&] { return extract_text(dir / "many.pdf"); });
  auto second = std::async(std::launch::async, [&] { return extract_text(dir / "many.pdf"); });
  auto a = first.get();
  auto b = second.get();
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(a->pages == 20);
  CHECK(a->text == b->text);
  CHECK(split_pages(a->text).at(19) == "Thread safe page 19");
}

TEST_CASE("extract_text reads a complete PDF whose cross-reference offset is wrong") {
  // MuPDF repairs such files; only a repaired file that also lacks its end
  // marker counts as truncated.
  testing::TempDir dir;
  testing::write_text_pdf(dir / "good.pdf", {"Still readable after repair."});
  auto bytes = testing::read_bytes(dir / "good.pdf");
  const auto at = bytes.rfind("startxref\n");
  REQUIRE(at != std::string::npos);
  const auto number = at + std::string("startxref\n").size();
  bytes.replace(number, bytes.find('\n', number) - number, "7");
  testing::write_bytes(dir / "shifted.pdf", bytes);
  auto document = extract_text(dir / "shifted.pdf");
  REQUIRE(document.has_value());
  CHECK(document->text == "Still readable after repair.");
}

TEST_CASE("extract_text refuses more pages than max_pages before reading any") {
  testing::TempDir dir;
  testing::write_text_pdf(dir / "three.pdf", {"One.", "Two.", "Three."});
  pipeline::pdf::ExtractLimits limits;
  limits.max_pages = 2;
  const auto refused = extract_text(dir / "three.pdf", limits);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().kind == ErrorKind::bad_input);
  CHECK(refused.error().message == dir / "three.pdf" + " has 3 pages, more than the limit of --max-pages (2); pass a "
                                                         "higher --max-pages (or PIPELINE_MAX_PAGES) to read it");
  limits.max_pages = 3;
  CHECK(extract_text(dir / "three.pdf", limits).has_value());
}

TEST_CASE("extract_text stops at max_text_bytes, in the middle of the page that passes it") {
  testing::TempDir dir;
  testing::write_dense_text_pdf(dir / "dense.pdf", 4, 100'000);
  pipeline::pdf::ExtractLimits limits;
  limits.max_text_bytes = 256 * 1024;
  const auto capped = extract_text(dir / "dense.pdf", limits);
  REQUIRE_FALSE(capped.has_value());
  CHECK(capped.error().kind == ErrorKind::bad_input);
  CHECK(capped.error().message == dir / "dense.pdf" + " holds more than 0.25 MB of text, the limit of --max-text-mb: "
                                                      "reading stopped at page 3 of 4; pass a higher --max-text-mb "
                                                      "(or PIPELINE_MAX_TEXT_MB) to read it");
  limits.max_text_bytes = 1024 * 1024;
  const auto whole = extract_text(dir / "dense.pdf", limits);
  REQUIRE(whole.has_value());
  CHECK(std::count(whole->text.begin(), whole->text.end(), 'd') == 400'000);
}

TEST_CASE("extract_text holds one page to a sixteenth of max_text_bytes in characters, at least 262144") {
  testing::TempDir dir;
  testing::write_dense_text_pdf(dir / "page.pdf", 1, 300'000);
  pipeline::pdf::ExtractLimits limits;
  limits.max_text_bytes = 1024 * 1024;  // a sixteenth is 65536, below the floor
  const auto refused = extract_text(dir / "page.pdf", limits);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message == dir / "page.pdf" + ": page 1 holds more than 262144 characters, more than one "
                                                      "page may hold at --max-text-mb 1 MB; pass a higher "
                                                      "--max-text-mb (or PIPELINE_MAX_TEXT_MB) to read it");
  limits.max_text_bytes = 8 * 1024 * 1024;  // a sixteenth is 524288
  const auto read = extract_text(dir / "page.pdf", limits);
  REQUIRE(read.has_value());
  CHECK(std::count(read->text.begin(), read->text.end(), 'd') == 300'000);
}

TEST_CASE("extract_text stops in the middle of a page of drawing operators once the cancel token stops") {
  testing::TempDir dir;
  // 4000 copies of a 1 MB stream: about 4 GB of operators on one page, which
  // MuPDF needs about a minute to interpret; the file holds a few kilobytes.
  testing::write_operator_bomb_pdf(dir / "bomb.pdf", 1024 * 1024, 4000);
  REQUIRE(std::filesystem::file_size(dir / "bomb.pdf") < 64 * 1024);
  const auto started = std::chrono::steady_clock::now();
  const auto seconds_since_start = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };

  SUBCASE("a deadline gives a deadline error") {
    const pipeline::util::CancelToken token(pipeline::util::Clock::now() + std::chrono::milliseconds(300));
    const auto stopped = extract_text(dir / "bomb.pdf", {}, token);
    const double elapsed = seconds_since_start();
    REQUIRE_FALSE(stopped.has_value());
    CHECK(stopped.error().kind == ErrorKind::deadline);
    CHECK(stopped.error().message == "the time budget ran out while reading " + dir / "bomb.pdf");
    CHECK(elapsed >= 0.3);
    CHECK(elapsed < 3.0);
  }
  SUBCASE("cancel() from another thread gives an interrupted error") {
    const pipeline::util::CancelToken token;
    auto canceller = std::async(std::launch::async, [token] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      token.cancel();
    });
    const auto stopped = extract_text(dir / "bomb.pdf", {}, token);
    const double elapsed = seconds_since_start();
    REQUIRE_FALSE(stopped.has_value());
    CHECK(stopped.error().kind == ErrorKind::interrupted);
    CHECK(stopped.error().message == "reading " + dir / "bomb.pdf" + " cancelled");
    CHECK(elapsed < 3.0);
  }
}

TEST_CASE("extract_text reads a whole document when its cancel token does not stop") {
  testing::TempDir dir;
  testing::write_text_pdf(dir / "two.pdf", {"First page.", "Second page."});
  const pipeline::util::CancelToken token(pipeline::util::Clock::now() + std::chrono::minutes(1));
  const auto document = extract_text(dir / "two.pdf", {}, token);
  REQUIRE(document.has_value());
  CHECK(document->text == "First page.\fSecond page.");
}

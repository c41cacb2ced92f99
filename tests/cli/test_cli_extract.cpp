#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "lib/util/sha256.hpp"
#include "tests/support/http_file_server.hpp"
#include "tests/support/pdf_builder.hpp"
#include "tests/support/process.hpp"

namespace testing = pipeline::testing;

namespace {

// Checks the contract for bad input: exit 3, nothing on stdout, one line on
// stderr in the house format, and none of MuPDF's own words.
void check_one_line_error(const testing::ProcessResult& result, const std::string& expected_fragment) {
  CAPTURE(result.err);
  CHECK(result.exit_code == 3);
  CHECK(result.out.empty());
  const auto lines = testing::split_lines(result.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("pipeline: error: ", 0) == 0);
  CHECK(lines[0].find(expected_fragment) != std::string::npos);
  CHECK(result.err.find("MuPDF") == std::string::npos);
  CHECK(result.err.find("warning") == std::string::npos);
  CHECK(result.err.find("xref") == std::string::npos);
}

testing::PdfBuildOptions locked() {
  testing::PdfBuildOptions options;
  options.user_password = "user-secret";
  options.owner_password = "owner-secret";
  return options;
}

}  // namespace

TEST_CASE("pipeline extract prints the text of a PDF") {
  testing::TempDir dir;
  testing::write_text_pdf(dir / "doc.pdf", {"First page line.", "Second page, with a hyphen-\nated word."});
  const auto result = testing::run_pipeline({"extract", dir / "doc.pdf"});
  CHECK(result.exit_code == 0);
  CHECK(result.err.empty());
  CHECK(result.out == "First page line.\fSecond page, with a hyphenated word.\n");
}

TEST_CASE("pipeline extract --json prints path, sha256, bytes, pages, chars, title and text") {
  testing::TempDir dir;
  testing::PdfBuildOptions options;
  options.title = "Refill Stations";
  testing::write_text_pdf(dir / "doc.pdf", {"Caf\xe9 is not ASCII here but plain.", "Two."}, options);
  const auto bytes = testing::read_bytes(dir / "doc.pdf");
  for (const auto& args : {std::vector<std::string>{"extract", dir / "doc.pdf", "--json"},
                           std::vector<std::string>{"--json", "extract", dir / "doc.pdf"}}) {
    const auto result = testing::run_pipeline(args);
    REQUIRE(result.exit_code == 0);
    const auto json = nlohmann::json::parse(result.out);
    CHECK(json.size() == 7);
    CHECK(json.at("path") == dir / "doc.pdf");
    CHECK(json.at("sha256") == pipeline::util::sha256_hex(bytes));
    CHECK(json.at("bytes") == bytes.size());
    CHECK(json.at("pages") == 2);
    CHECK(json.at("title") == "Refill Stations");
    const std::string text = json.at("text");
    CHECK(text.find("\fTwo.") != std::string::npos);
    CHECK(json.at("chars") < text.size());  // the é is two bytes but one character
  }
}

TEST_CASE("pipeline extract fails with exit 3 and one line for every kind of bad input") {
  testing::TempDir dir;
  testing::write_text_pdf(dir / "good.pdf", {"Page one of six.", "Two.", "Three.", "Four.", "Five.", "Six."});
  testing::write_bytes(dir / "empty.pdf", "");
  testing::write_bytes(dir / "picture.pdf", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10", 20));
  testing::write_truncated_copy(dir / "good.pdf", dir / "cut.pdf", 0.6);
  testing::write_truncated_copy(dir / "good.pdf", dir / "stub.pdf", 0.1);
  testing::write_text_pdf(dir / "locked.pdf", {"Secret."}, locked());
  testing::write_image_only_pdf(dir / "scan.pdf", 2);

  const std::vector<std::pair<std::string, std::string>> cases = {
      {dir / "missing.pdf", "does not exist"},
      {dir.path(), "is a directory"},
      {dir / "empty.pdf", "is empty"},
      {dir / "picture.pdf", "is not a PDF"},
      {dir / "cut.pdf", "truncated"},
      {dir / "stub.pdf", "truncated"},
      {dir / "locked.pdf", "password"},
      {dir / "scan.pdf", "OCR is not supported"},
      {"file://" + (dir / "good.pdf"), "only http:// and https://"},
      {"ftp://127.0.0.1/good.pdf", "only http:// and https://"},
  };
  for (const auto& [input, fragment] : cases) {
    CAPTURE(input);
    const auto result = testing::run_pipeline({"extract", input});
    check_one_line_error(result, fragment);
    CHECK(result.err.find(input) != std::string::npos);
    const auto json_result = testing::run_pipeline({"extract", input, "--json"});
    check_one_line_error(json_result, fragment);
  }
}

TEST_CASE("pipeline extract --verbose shows MuPDF's own messages") {
  testing::TempDir dir;
  testing::write_text_pdf(dir / "good.pdf", {"Page one.", "Page two."});
  testing::write_truncated_copy(dir / "good.pdf", dir / "cut.pdf", 0.6);
  const auto result = testing::run_pipeline({"extract", dir / "cut.pdf", "--verbose"});
  CHECK(result.exit_code == 3);
  CHECK(result.err.find("pipeline: MuPDF") != std::string::npos);
  CHECK(testing::split_lines(result.err).back().rfind("pipeline: error: ", 0) == 0);
}

TEST_CASE("pipeline extract downloads an http URL") {
  testing::HttpFileServer server;
  testing::TempDir dir;
  testing::write_text_pdf(dir / "remote.pdf", {"Text that came over HTTP."});
  server.serve("/files/remote.pdf", testing::read_bytes(dir / "remote.pdf"));
  server.redirect("/latest", "/files/remote.pdf");
  server.serve("/files/big.pdf", std::string(3 * 1024 * 1024, 'x').replace(0, 5, "%PDF-"));
  server.serve("/files/not-a-pdf", "<html>a login page</html>");

  const auto url = server.url("/latest");
  const auto plain = testing::run_pipeline({"extract", url});
  CHECK(plain.exit_code == 0);
  CHECK(plain.out == "Text that came over HTTP.\n");

  const auto json_result = testing::run_pipeline({"extract", url, "--json"});
  REQUIRE(json_result.exit_code == 0);
  const auto json = nlohmann::json::parse(json_result.out);
  CHECK(json.at("path") == url);
  CHECK(json.at("pages") == 1);

  check_one_line_error(testing::run_pipeline({"extract", server.url("/files/none.pdf")}), "HTTP 404");
  check_one_line_error(testing::run_pipeline({"extract", server.url("/files/big.pdf"), "--max-download-mb", "1"}),
                       "larger than the limit");
  const auto html = testing::run_pipeline({"extract", server.url("/files/not-a-pdf")});
  check_one_line_error(html, "is not a PDF");
  CHECK(html.err.find(server.url("/files/not-a-pdf")) != std::string::npos);
  CHECK(html.err.find("pipeline-download") == std::string::npos);
  CHECK(html.err.find("document.pdf") == std::string::npos);
}

TEST_CASE("pipeline extract without an input is a usage error") {
  const auto result = testing::run_pipeline({"extract"});
  CHECK(result.exit_code == 2);
  const auto help = testing::run_pipeline({"extract", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("https://") != std::string::npos);
  CHECK(help.out.find("--json") != std::string::npos);
}

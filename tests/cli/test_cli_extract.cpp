#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <csignal>

#include <sys/socket.h>
#include <unistd.h>

#include "lib/util/sha256.hpp"
#include "tests/support/http_file_server.hpp"
#include "tests/support/loopback_socket.hpp"
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

  // The server listens on loopback, which only --allow-private-urls reaches.
  const auto url = server.url("/latest");
  const auto plain = testing::run_pipeline({"extract", url, "--allow-private-urls"});
  CHECK(plain.exit_code == 0);
  CHECK(plain.out == "Text that came over HTTP.\n");

  const auto json_result = testing::run_pipeline({"extract", url, "--json", "--allow-private-urls"});
  REQUIRE(json_result.exit_code == 0);
  const auto json = nlohmann::json::parse(json_result.out);
  CHECK(json.at("path") == url);
  CHECK(json.at("pages") == 1);

  check_one_line_error(testing::run_pipeline({"extract", server.url("/files/none.pdf"), "--allow-private-urls"}),
                       "HTTP 404");
  check_one_line_error(testing::run_pipeline({"extract", server.url("/files/big.pdf"), "--max-download-mb", "1",
                                              "--allow-private-urls"}),
                       "larger than the limit");
  const auto html = testing::run_pipeline({"extract", server.url("/files/not-a-pdf"), "--allow-private-urls"});
  check_one_line_error(html, "is not a PDF");
  CHECK(html.err.find(server.url("/files/not-a-pdf")) != std::string::npos);
  CHECK(html.err.find("pipeline-download") == std::string::npos);
  CHECK(html.err.find("document.pdf") == std::string::npos);
}

TEST_CASE("pipeline extract refuses a URL that reaches a private address, before any request") {
  testing::HttpFileServer server;
  testing::TempDir dir;
  testing::write_text_pdf(dir / "remote.pdf", {"Text that must not be fetched."});
  server.serve("/remote.pdf", testing::read_bytes(dir / "remote.pdf"));
  const std::string by_name = "http://localhost:" + std::to_string(server.port()) + "/remote.pdf";

  const auto by_number = testing::run_pipeline({"extract", server.url("/remote.pdf")});
  check_one_line_error(by_number, "refusing to fetch " + server.url("/remote.pdf") + ": it resolves to 127.0.0.1 "
                                  "(loopback); pass --allow-private-urls (or PIPELINE_ALLOW_PRIVATE_URLS=1)");
  const auto named = testing::run_pipeline({"extract", by_name, "--json"});
  check_one_line_error(named, "refusing to fetch " + by_name + ": it resolves to ");
  CHECK(named.err.find("(loopback)") != std::string::npos);
  // PIPELINE_ALLOW_PRIVATE_URLS=0 is no permission.
  testing::ProcessOptions zero;
  zero.env["PIPELINE_ALLOW_PRIVATE_URLS"] = "0";
  check_one_line_error(testing::run_pipeline({"extract", by_name}, zero), "refusing to fetch");
  CHECK(server.requests() == 0);

  testing::ProcessOptions allowed;
  allowed.env["PIPELINE_ALLOW_PRIVATE_URLS"] = "1";
  const auto fetched = testing::run_pipeline({"extract", by_name}, allowed);
  CHECK(fetched.exit_code == 0);
  CHECK(fetched.out == "Text that must not be fetched.\n");
  CHECK(server.requests() == 1);
}

TEST_CASE("pipeline extract of a URL whose server never answers stops at --request-timeout") {
  int port = 0;
  const int fd = testing::bind_loopback_socket(port);
  REQUIRE(::listen(fd, 4) == 0);  // connections are accepted by the kernel and never answered
  const auto start = std::chrono::steady_clock::now();
  const auto result = testing::run_pipeline({"extract", "http://127.0.0.1:" + std::to_string(port) + "/slow.pdf",
                                             "--allow-private-urls", "--request-timeout", "2s"});
  const double took_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::close(fd);
  MESSAGE("gave up after " << took_s << " s (--request-timeout 2s)");
  check_one_line_error(result, "timed out");
  CHECK(took_s < 6.0);
}

TEST_CASE("pipeline extract stops at --max-pages and --max-text-mb with one line naming the flag") {
  testing::TempDir dir;
  testing::write_text_pdf(dir / "three.pdf", {"One.", "Two.", "Three."});
  check_one_line_error(testing::run_pipeline({"extract", dir / "three.pdf", "--max-pages", "2"}),
                       "has 3 pages, more than the limit of --max-pages (2); pass a higher --max-pages (or "
                       "PIPELINE_MAX_PAGES)");
  testing::ProcessOptions two_pages;
  two_pages.env["PIPELINE_MAX_PAGES"] = "2";
  check_one_line_error(testing::run_pipeline({"extract", dir / "three.pdf"}, two_pages), "--max-pages (2)");
  CHECK(testing::run_pipeline({"extract", dir / "three.pdf", "--max-pages", "3"}).exit_code == 0);

  // Twenty pages of about 1,800 characters each: about 36 KB of text.
  const std::string line(60, 'e');
  std::string page;
  for (int i = 0; i < 30; ++i) page += line + "\n";
  testing::write_text_pdf(dir / "wordy.pdf", std::vector<std::string>(20, page));
  const auto capped = testing::run_pipeline({"extract", dir / "wordy.pdf", "--max-text-mb", "0.01"});
  check_one_line_error(capped, "holds more than 0.01 MB of text, the limit of --max-text-mb: reading stopped at "
                               "page 6 of 20; pass a higher --max-text-mb (or PIPELINE_MAX_TEXT_MB)");
  testing::ProcessOptions small_cap;
  small_cap.env["PIPELINE_MAX_TEXT_MB"] = "0.01";
  check_one_line_error(testing::run_pipeline({"extract", dir / "wordy.pdf"}, small_cap), "--max-text-mb");
  const auto whole = testing::run_pipeline({"extract", dir / "wordy.pdf", "--max-text-mb", "0.04", "--json"});
  REQUIRE(whole.exit_code == 0);
  CHECK(nlohmann::json::parse(whole.out).at("pages") == 20);
}

TEST_CASE("pipeline extract stops within a second of SIGTERM in a page of drawing operators, exit 143") {
  testing::TempDir dir;
  // About 4 GB of operators on one page: a minute of MuPDF's time unstopped.
  testing::write_operator_bomb_pdf(dir / "bomb.pdf", 1024 * 1024, 4000);
  testing::Process process({testing::pipeline_binary(), "extract", dir / "bomb.pdf"});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  REQUIRE(process.running());
  const auto signalled = std::chrono::steady_clock::now();
  process.send_signal(SIGTERM);
  const auto result = process.wait(std::chrono::seconds(30));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled).count();
  CAPTURE(result.err);
  CHECK(seconds < 1.5);
  CHECK(result.term_signal == 0);
  CHECK(result.exit_code == 143);
  CHECK(result.out.empty());
  CHECK(testing::split_lines(result.err) ==
        std::vector<std::string>{"pipeline: error: reading " + dir / "bomb.pdf" + " interrupted"});
}

TEST_CASE("pipeline extract without an input is a usage error") {
  const auto result = testing::run_pipeline({"extract"});
  CHECK(result.exit_code == 2);
  const auto help = testing::run_pipeline({"extract", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("https://") != std::string::npos);
  CHECK(help.out.find("--json") != std::string::npos);
}

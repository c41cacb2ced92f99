#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "lib/pdf/download.hpp"
#include "tests/support/http_file_server.hpp"
#include "tests/support/pdf_builder.hpp"
#include "tests/support/process.hpp"

using pipeline::pdf::download;
using pipeline::pdf::DownloadOptions;
using pipeline::util::ErrorKind;
namespace fs = std::filesystem;
namespace testing = pipeline::testing;

namespace {

std::string sample_body(std::size_t size) {
  std::string body = "%PDF-1.7\n";
  while (body.size() < size) body += static_cast<char>('a' + body.size() % 26);
  body.resize(size);
  return body;
}

// The names in `dir`, to check that nothing (such as a .part file) is left.
std::size_t entries_in(const std::string& dir) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

DownloadOptions capped(std::uint64_t max_bytes, int max_redirects = 5) {
  DownloadOptions options;
  options.max_bytes = max_bytes;
  options.max_redirects = max_redirects;
  options.connect_timeout_s = 5;
  options.total_timeout_s = 30;
  return options;
}

}  // namespace

TEST_CASE("is_url and has_url_scheme tell URLs from paths") {
  CHECK(pipeline::pdf::is_url("http://example.com/a.pdf"));
  CHECK(pipeline::pdf::is_url("HTTPS://example.com/a.pdf"));
  CHECK_FALSE(pipeline::pdf::is_url("file:///tmp/a.pdf"));
  CHECK_FALSE(pipeline::pdf::is_url("reports/http.pdf"));
  CHECK(pipeline::pdf::has_url_scheme("ftp://example.com/a.pdf"));
  CHECK(pipeline::pdf::has_url_scheme("file:///tmp/a.pdf"));
  CHECK_FALSE(pipeline::pdf::has_url_scheme("/tmp/a://b.pdf"));
  CHECK_FALSE(pipeline::pdf::has_url_scheme("report.pdf"));
}

TEST_CASE("download saves the body of an http URL") {
  testing::HttpFileServer server;
  testing::TempDir dir;
  testing::write_text_pdf(dir / "source.pdf", {"Downloaded text."});
  const auto body = testing::read_bytes(dir / "source.pdf");
  server.serve("/report.pdf", body);
  server.serve_chunked("/chunked.pdf", sample_body(100'000));

  REQUIRE(download(server.url("/report.pdf"), dir / "got.pdf", capped(1 << 20)).has_value());
  CHECK(testing::read_bytes(dir / "got.pdf") == body);
  REQUIRE(download(server.url("/chunked.pdf"), dir / "chunked.pdf", capped(1 << 20)).has_value());
  CHECK(testing::read_bytes(dir / "chunked.pdf") == sample_body(100'000));
  CHECK(entries_in(dir.path()) == 3);
}

TEST_CASE("download reports an HTTP error status") {
  testing::HttpFileServer server;
  testing::TempDir dir;
  const auto url = server.url("/missing.pdf");
  auto result = download(url, dir / "got.pdf", capped(1 << 20));
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::bad_input);
  CHECK(result.error().message == "download of " + url + " failed: HTTP 404");
  CHECK(entries_in(dir.path()) == 0);
}

TEST_CASE("download follows redirects up to the limit") {
  testing::HttpFileServer server;
  testing::TempDir dir;
  server.serve("/final.pdf", sample_body(500));
  server.redirect("/hop1", "/hop2");
  server.redirect("/hop2", "/hop3");
  server.redirect("/hop3", "/final.pdf");

  SUBCASE("within the limit") {
    REQUIRE(download(server.url("/hop1"), dir / "got.pdf", capped(1 << 20, 3)).has_value());
    CHECK(testing::read_bytes(dir / "got.pdf") == sample_body(500));
  }
  SUBCASE("over the limit") {
    auto result = download(server.url("/hop1"), dir / "got.pdf", capped(1 << 20, 2));
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == ErrorKind::bad_input);
    CHECK(result.error().message.find("more than 2 redirects") != std::string::npos);
    CHECK(entries_in(dir.path()) == 0);
  }
  SUBCASE("a redirect loop") {
    server.redirect("/loop", "/loop");
    auto result = download(server.url("/loop"), dir / "got.pdf", capped(1 << 20, 5));
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().message.find("redirects") != std::string::npos);
  }
}

TEST_CASE("download stops at the size cap") {
  testing::HttpFileServer server;
  testing::TempDir dir;
  server.serve("/big.pdf", sample_body(200'000));
  server.serve_chunked("/big-chunked.pdf", sample_body(200'000));

  SUBCASE("announced by Content-Length") {
    auto result = download(server.url("/big.pdf"), dir / "got.pdf", capped(100'000));
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == ErrorKind::bad_input);
    CHECK(result.error().message.find("larger than the limit") != std::string::npos);
  }
  SUBCASE("counted while streaming") {
    auto result = download(server.url("/big-chunked.pdf"), dir / "got.pdf", capped(100'000));
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == ErrorKind::bad_input);
    CHECK(result.error().message.find("larger than the limit") != std::string::npos);
  }
  SUBCASE("exactly at the cap") {
    REQUIRE(download(server.url("/big.pdf"), dir / "got.pdf", capped(200'000)).has_value());
    CHECK(fs::file_size(dir / "got.pdf") == 200'000);
  }
  if (!fs::exists(dir / "got.pdf")) CHECK(entries_in(dir.path()) == 0);
}

TEST_CASE("download refuses schemes other than http and https") {
  testing::HttpFileServer server;
  testing::TempDir dir;
  testing::write_bytes(dir / "secret.pdf", sample_body(100));
  for (const std::string& url : {"file://" + (dir / "secret.pdf"), server.url("/x.pdf").replace(0, 4, "ftp")}) {
    CAPTURE(url);
    auto result = download(url, dir / "got.pdf", capped(1 << 20));
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == ErrorKind::bad_input);
    CHECK(result.error().message.find("only http:// and https://") != std::string::npos);
  }
  CHECK(server.requests() == 0);
  CHECK_FALSE(fs::exists(dir / "got.pdf"));
}

TEST_CASE("download refuses a redirect to another scheme") {
  testing::HttpFileServer server;
  testing::TempDir dir;
  testing::write_bytes(dir / "secret.pdf", sample_body(100));
  server.redirect("/sneaky.pdf", "file://" + (dir / "secret.pdf"));
  auto result = download(server.url("/sneaky.pdf"), dir / "got.pdf", capped(1 << 20));
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::bad_input);
  CHECK(result.error().message.find("not http:// or https://") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "got.pdf"));
}

TEST_CASE("download reports a server that does not answer") {
  std::string url;
  {
    testing::HttpFileServer server;
    url = server.url("/gone.pdf");
  }
  testing::TempDir dir;
  auto result = download(url, dir / "got.pdf", capped(1 << 20));
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::bad_input);
  CHECK(result.error().message.rfind("download of " + url + " failed: ", 0) == 0);
}

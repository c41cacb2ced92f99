#include <doctest/doctest.h>

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "lib/pdf/ingest.hpp"
#include "tests/support/http_file_server.hpp"
#include "tests/support/pdf_builder.hpp"
#include "tests/support/process.hpp"

using pipeline::pdf::IngestOptions;
using pipeline::pdf::ingest;
using pipeline::util::CancelToken;
using pipeline::util::ErrorKind;
namespace fs = std::filesystem;
namespace testing = pipeline::testing;

namespace pipeline::testing {
namespace {

// Points TMPDIR at a fresh folder while it lives, so that a test can see what
// ingest() leaves in the temporary directory; the old value comes back after.
class ScopedTmpdir {
 public:
  ScopedTmpdir() {
    if (const char* old = ::getenv("TMPDIR")) m_old = old;
    ::setenv("TMPDIR", m_dir.path().c_str(), 1);
  }
  ~ScopedTmpdir() {
    if (m_old) {
      ::setenv("TMPDIR", m_old->c_str(), 1);
    } else {
      ::unsetenv("TMPDIR");
    }
  }
  ScopedTmpdir(const ScopedTmpdir&) = delete;
  ScopedTmpdir& operator=(const ScopedTmpdir&) = delete;

  std::size_t entries() const {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(m_dir.path()), fs::directory_iterator()));
  }

 private:
  TempDir m_dir;
  std::optional<std::string> m_old;
};

}  // namespace
}  // namespace pipeline::testing

namespace {

// The test server listens on loopback, which downloads refuse unless allowed.
IngestOptions quick_options() {
  IngestOptions options;
  options.download.url_guard.allow_private = true;
  options.download.max_bytes = 1 << 20;
  options.download.connect_timeout_s = 5;
  options.download.total_timeout_s = 30;
  return options;
}

}  // namespace

TEST_CASE("ingest extracts a local PDF and names its path") {
  testing::TempDir dir;
  testing::write_text_pdf(dir / "local.pdf", {"Local words."});
  auto document = ingest(dir / "local.pdf", quick_options(), CancelToken{});
  REQUIRE(document.has_value());
  CHECK(document->path == dir / "local.pdf");
  CHECK(document->text == "Local words.");
  CHECK(document->pages == 1);
}

TEST_CASE("ingest reports a missing local file") {
  testing::TempDir dir;
  auto document = ingest(dir / "missing.pdf", quick_options(), CancelToken{});
  REQUIRE_FALSE(document.has_value());
  CHECK(document.error().kind == ErrorKind::bad_input);
  CHECK(document.error().message == "cannot read " + (dir / "missing.pdf") + ": the file does not exist");
}

TEST_CASE("ingest downloads an http URL, names the URL and leaves no temporary files") {
  testing::TempDir dir;
  testing::ScopedTmpdir tmp;
  testing::HttpFileServer server;
  testing::write_text_pdf(dir / "remote.pdf", {"Words from afar."});
  server.serve("/files/remote.pdf", testing::read_bytes(dir / "remote.pdf"));
  server.redirect("/latest", "/files/remote.pdf");

  const auto url = server.url("/latest");
  auto document = ingest(url, quick_options(), CancelToken{});
  REQUIRE(document.has_value());
  CHECK(document->path == url);
  CHECK(document->text == "Words from afar.");
  CHECK(document->bytes == testing::read_bytes(dir / "remote.pdf").size());
  CHECK(tmp.entries() == 0);
}

TEST_CASE("ingest names the URL, not the temporary file, when the download is bad") {
  testing::ScopedTmpdir tmp;
  testing::HttpFileServer server;
  server.serve("/login", "<html>a login page</html>");
  server.serve("/empty.pdf", "");

  const std::pair<std::string, std::string> cases[] = {
      {server.url("/login"), server.url("/login") + " is not a PDF: it does not start with a %PDF- header"},
      {server.url("/empty.pdf"), server.url("/empty.pdf") + " is empty (0 bytes), not a PDF"},
      {server.url("/none.pdf"), "download of " + server.url("/none.pdf") + " failed: HTTP 404"},
  };
  for (const auto& [url, message] : cases) {
    CAPTURE(url);
    auto document = ingest(url, quick_options(), CancelToken{});
    REQUIRE_FALSE(document.has_value());
    CHECK(document.error().kind == ErrorKind::bad_input);
    CHECK(document.error().message == message);
    CHECK(document.error().message.find("pipeline-download") == std::string::npos);
  }
  CHECK(tmp.entries() == 0);
}

TEST_CASE("ingest refuses schemes other than http and https") {
  testing::TempDir dir;
  testing::ScopedTmpdir tmp;
  testing::HttpFileServer server;
  testing::write_text_pdf(dir / "good.pdf", {"Readable."});
  const std::string inputs[] = {"file://" + (dir / "good.pdf"), "file:///etc/hosts",
                                server.url("/good.pdf").replace(0, 4, "ftp")};
  for (const auto& input : inputs) {
    CAPTURE(input);
    auto document = ingest(input, quick_options(), CancelToken{});
    REQUIRE_FALSE(document.has_value());
    CHECK(document.error().kind == ErrorKind::bad_input);
    CHECK(document.error().message ==
          "refused to download " + input + ": only http:// and https:// URLs are supported");
  }
  CHECK(server.requests() == 0);
  CHECK(tmp.entries() == 0);
}

TEST_CASE("ingest passes its token to the download") {
  testing::TempDir dir;
  testing::ScopedTmpdir tmp;
  testing::HttpFileServer server;
  testing::write_text_pdf(dir / "remote.pdf", {"Never fetched."});
  server.serve("/remote.pdf", testing::read_bytes(dir / "remote.pdf"));

  SUBCASE("a spent time budget") {
    const CancelToken spent(pipeline::util::Clock::now() - std::chrono::seconds(1));
    auto document = ingest(server.url("/remote.pdf"), quick_options(), spent);
    REQUIRE_FALSE(document.has_value());
    CHECK(document.error().kind == ErrorKind::deadline);
    CHECK(document.error().message == "the time budget ran out while downloading " + server.url("/remote.pdf"));
  }
  SUBCASE("a cancelled token") {
    const CancelToken cancelled;
    cancelled.cancel();
    auto document = ingest(server.url("/remote.pdf"), quick_options(), cancelled);
    REQUIRE_FALSE(document.has_value());
    CHECK(document.error().kind == ErrorKind::interrupted);
  }
  CHECK(server.requests() == 0);
  CHECK(tmp.entries() == 0);
}

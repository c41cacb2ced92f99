#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>

#include "lib/pdf/download.hpp"
#include "tests/support/http_file_server.hpp"
#include "tests/support/pdf_builder.hpp"
#include "tests/support/process.hpp"

using pipeline::pdf::DownloadOptions;
using pipeline::util::CancelToken;
using pipeline::util::ErrorKind;
namespace fs = std::filesystem;
namespace testing = pipeline::testing;

namespace pipeline::testing {
namespace {

// A real HTTP server on 127.0.0.1 whose answers never end: /trickle sends one
// byte every 100 ms, /stall sends the headers and then nothing. It stops
// feeding a body once the client has gone or the server is closing.
class EndlessServer {
 public:
  EndlessServer() {
    m_server.Get("/trickle", [this](const httplib::Request&, httplib::Response& response) {
      response.set_chunked_content_provider("application/pdf", [this](std::size_t, httplib::DataSink& sink) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return !m_closing.load() && sink.write("%", 1);
      });
    });
    m_server.Get("/stall", [this](const httplib::Request&, httplib::Response& response) {
      response.set_chunked_content_provider("application/pdf", [this](std::size_t, httplib::DataSink& sink) {
        while (!m_closing.load() && sink.is_writable()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return false;
      });
    });
    m_port = m_server.bind_to_any_port("127.0.0.1");
    REQUIRE(m_port > 0);
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    for (int i = 0; i < 5000 && !m_server.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~EndlessServer() {
    m_closing = true;
    m_server.stop();
    m_thread.join();
  }
  EndlessServer(const EndlessServer&) = delete;
  EndlessServer& operator=(const EndlessServer&) = delete;

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(m_port) + path; }

 private:
  httplib::Server m_server;
  std::thread m_thread;
  std::atomic<bool> m_closing{false};
  int m_port = 0;
};

}  // namespace
}  // namespace pipeline::testing

namespace {

// Downloads without a deadline; a signal still stops it.
pipeline::util::Expected<void> download(const std::string& url, const fs::path& destination,
                                        const DownloadOptions& options) {
  return pipeline::pdf::download(url, destination, options, CancelToken{});
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

CancelToken token_with_budget(std::chrono::milliseconds budget) {
  return CancelToken(pipeline::util::Clock::now() + budget);
}

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

// The test servers listen on loopback, which downloads refuse unless allowed.
DownloadOptions capped(std::uint64_t max_bytes, int max_redirects = 5) {
  DownloadOptions options;
  options.url_guard.allow_private = true;
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

TEST_CASE("download stops when the time budget runs out") {
  testing::EndlessServer server;
  testing::TempDir dir;
  for (const std::string path : {"/trickle", "/stall"}) {
    CAPTURE(path);
    const auto url = server.url(path);
    const auto start = std::chrono::steady_clock::now();
    auto result = pipeline::pdf::download(url, dir / "got.pdf", capped(1 << 20),
                                          token_with_budget(std::chrono::milliseconds(1000)));
    const double elapsed = seconds_since(start);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == ErrorKind::deadline);
    CHECK(result.error().message == "the time budget ran out while downloading " + url);
    CHECK(elapsed >= 0.9);
    CHECK(elapsed < 5.0);  // the route never ends: any prompt stop is the token's doing
    CHECK(entries_in(dir.path()) == 0);
  }
}

TEST_CASE("download with no time left makes no request") {
  testing::HttpFileServer server;
  testing::TempDir dir;
  server.serve("/report.pdf", sample_body(500));
  const CancelToken spent(pipeline::util::Clock::now() - std::chrono::seconds(1));
  auto result = pipeline::pdf::download(server.url("/report.pdf"), dir / "got.pdf", capped(1 << 20), spent);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::deadline);
  CHECK(server.requests() == 0);
  CHECK(entries_in(dir.path()) == 0);
}

TEST_CASE("download within its time budget completes") {
  testing::HttpFileServer server;
  testing::TempDir dir;
  server.serve_chunked("/report.pdf", sample_body(50'000));
  REQUIRE(pipeline::pdf::download(server.url("/report.pdf"), dir / "got.pdf", capped(1 << 20),
                                  token_with_budget(std::chrono::seconds(20)))
              .has_value());
  CHECK(testing::read_bytes(dir / "got.pdf") == sample_body(50'000));
}

TEST_CASE("download stops when its token is cancelled from another thread") {
  testing::EndlessServer server;
  testing::TempDir dir;
  for (const std::string path : {"/trickle", "/stall"}) {
    CAPTURE(path);
    const CancelToken token;
    const auto start = std::chrono::steady_clock::now();
    std::thread canceller([token] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      token.cancel();
    });
    auto result = pipeline::pdf::download(server.url(path), dir / "got.pdf", capped(1 << 20), token);
    const double elapsed = seconds_since(start);
    canceller.join();
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().kind == ErrorKind::interrupted);
    CHECK(result.error().message == "download of " + server.url(path) + " cancelled");
    // libcurl looks at the token at least once a second, also while no data flows.
    CHECK(elapsed < 5.0);
    CHECK(entries_in(dir.path()) == 0);
  }
}

TEST_CASE("download stops on SIGINT") {
  testing::EndlessServer server;
  testing::TempDir dir;
  struct sigaction previous {};
  sigaction(SIGINT, nullptr, &previous);
  pipeline::util::install_stop_signal_handlers();
  std::thread sender([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::raise(SIGINT);
  });
  const auto start = std::chrono::steady_clock::now();
  auto result = download(server.url("/trickle"), dir / "got.pdf", capped(1 << 20));
  const double elapsed = seconds_since(start);
  sender.join();
  pipeline::util::reset_stop_signal();
  sigaction(SIGINT, &previous, nullptr);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::interrupted);
  CHECK(result.error().message == "download of " + server.url("/trickle") + " interrupted");
  CHECK(elapsed < 5.0);
}

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "lib/queue/job_source.hpp"
#include "tests/support/process.hpp"

using namespace pipeline::queue;
using pipeline::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// The refusal of `source` under `policy` (failing the test when admitted).
std::string source_refusal(const std::string& source, const SourcePolicy& policy) {
  const auto admitted = admit_source(source, policy);
  REQUIRE_FALSE(admitted.has_value());
  CHECK(admitted.error().kind == pipeline::util::ErrorKind::bad_input);
  return admitted.error().message;
}

}  // namespace

TEST_CASE("a queue's sources are http(s) URLs unless a worker allows a local folder") {
  const SourcePolicy urls_only;
  CHECK(admit_source("https://example.com/a.pdf", urls_only).value() == "https://example.com/a.pdf");
  CHECK(admit_source("HTTP://example.com/a.pdf", urls_only).has_value());
  CHECK(source_refusal("file:///etc/passwd", urls_only).find("only http:// and https://") != std::string::npos);
  CHECK(source_refusal("ftp://example.com/a.pdf", urls_only).find("only http:// and https://") != std::string::npos);
  CHECK(source_refusal("/etc/passwd", urls_only).find("--allow-local-sources") != std::string::npos);
  CHECK(source_refusal("report.pdf", urls_only).find("--allow-local-sources") != std::string::npos);
  CHECK(source_refusal("https://example.com/a b.pdf", urls_only).find("printable ASCII") != std::string::npos);
  CHECK(source_refusal("https://example.com/\x1b[2J", urls_only).find("\\x1b") != std::string::npos);
}

TEST_CASE("local sources: regular files inside the folder only, once resolved") {
  TempDir dir;
  fs::create_directories(dir / "docs/sub");
  std::ofstream(dir / "docs/a.pdf") << "%PDF-1.4";
  std::ofstream(dir / "docs/sub/b.pdf") << "%PDF-1.4";
  std::ofstream(dir / "outside.pdf") << "%PDF-1.4";
  fs::create_symlink(dir / "outside.pdf", dir / "docs/link.pdf");
  fs::create_symlink(dir / "docs/a.pdf", dir / "docs/inner-link.pdf");
  REQUIRE(::mkfifo((dir / "docs/fifo.pdf").c_str(), 0600) == 0);
  const auto policy = local_sources_under(dir / "docs");
  REQUIRE_MESSAGE(policy.has_value(), policy.error().message);
  const std::string root = fs::canonical(dir / "docs").string();

  CHECK(admit_source(dir / "docs/a.pdf", *policy).value() == root + "/a.pdf");
  CHECK(admit_source("sub/b.pdf", *policy).value() == root + "/sub/b.pdf");
  CHECK(admit_source(dir / "docs/inner-link.pdf", *policy).value() == root + "/a.pdf");
  CHECK(source_refusal(dir / "docs/../outside.pdf", *policy).find("outside") != std::string::npos);
  CHECK(source_refusal("../outside.pdf", *policy).find("outside") != std::string::npos);
  CHECK(source_refusal(dir / "docs/link.pdf", *policy).find("outside") != std::string::npos);
  CHECK(source_refusal(dir / "docs/missing.pdf", *policy).find("No such file") != std::string::npos);
  CHECK(source_refusal(dir / "docs/sub", *policy).find("not a regular file") != std::string::npos);
  CHECK(source_refusal("/dev/zero", *policy).find("outside") != std::string::npos);
  // A FIFO is refused without being opened, so nothing waits for a writer.
  const auto start = std::chrono::steady_clock::now();
  CHECK(source_refusal(dir / "docs/fifo.pdf", *policy).find("not a regular file") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));

  const auto devices = local_sources_under("/dev");
  REQUIRE(devices.has_value());
  CHECK(source_refusal("/dev/zero", *devices).find("not a regular file") != std::string::npos);
  CHECK_FALSE(local_sources_under(dir / "docs/a.pdf").has_value());
  CHECK_FALSE(local_sources_under(dir / "nowhere").has_value());
}

#include <doctest/doctest.h>

#include <filesystem>
#include <optional>
#include <string>

#include "lib/util/error.hpp"
#include "service/serve.hpp"
#include "tests/support/loopback_socket.hpp"
#include "tests/support/process.hpp"

using pipeline::util::ErrorKind;
using pipeline::util::FatalError;

namespace {

// What serve() threw, or nullopt when it returned.
std::optional<FatalError> serve_refusal(const pipeline::service::RunSettings& settings,
                                        const pipeline::service::ServeOptions& options) {
  try {
    (void)pipeline::service::serve(settings, options);
  } catch (const FatalError& error) {
    return error;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("loopback hosts are 127.0.0.0/8, ::1 and localhost") {
  using pipeline::service::is_loopback_host;
  for (const std::string host : {"127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "[::1]", "localhost",
                                 "0:0:0:0:0:0:0:1"}) {
    CAPTURE(host);
    CHECK(is_loopback_host(host));
  }
  for (const std::string host : {"", "0.0.0.0", "::", "[::]", "192.168.1.10", "10.0.0.1", "128.0.0.1", "1.127.0.0",
                                 "example.com", "127.example.com", "127.0.0.1.nip.io", "localhost.example.com",
                                 "::ffff:10.0.0.1", "[::1]:8080", "127.0.0.1 "}) {
    CAPTURE(host);
    CHECK_FALSE(is_loopback_host(host));
  }
}

TEST_CASE("serve refuses a host others can reach without tokens, before it opens anything") {
  pipeline::testing::TempDir dir;
  pipeline::service::RunSettings settings;
  settings.store_url = dir / "store";
  pipeline::service::ServeOptions options;
  options.port = pipeline::testing::free_local_port();
  // Should the host pass, this stops serve() at its next check instead of serving.
  options.workers = -1;
  for (const std::string host : {"0.0.0.0", "::", "192.0.2.10", "example.com", "127.example.com"}) {
    CAPTURE(host);
    options.host = host;
    const auto refused = serve_refusal(settings, options);
    REQUIRE(refused.has_value());
    CHECK(refused->kind() == ErrorKind::usage);
    const std::string message = refused->what();
    CHECK_MESSAGE(message.find("without tokens") != std::string::npos, message);
    CHECK(message.find(host) != std::string::npos);
  }
  // Nothing was made: not the store, not its job folder.
  CHECK_FALSE(std::filesystem::exists(dir / "store"));
}

TEST_CASE("with tokens, or on loopback, the host is accepted and the next check speaks") {
  pipeline::testing::TempDir dir;
  pipeline::service::RunSettings settings;
  settings.store_url = dir / "store";
  pipeline::service::ServeOptions options;
  options.port = pipeline::testing::free_local_port();
  options.workers = -1;

  options.host = "0.0.0.0";
  options.tokens = {"a-service-token-long-enough"};
  auto with_tokens = serve_refusal(settings, options);
  REQUIRE(with_tokens.has_value());
  CHECK(std::string(with_tokens->what()).find("--workers") != std::string::npos);

  options.host = "127.0.0.1";
  options.tokens.clear();
  auto loopback = serve_refusal(settings, options);
  REQUIRE(loopback.has_value());
  CHECK(std::string(loopback->what()).find("--workers") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "store"));
}

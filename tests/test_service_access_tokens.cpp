#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "lib/util/error.hpp"
#include "service/access_tokens.hpp"
#include "tests/support/process.hpp"

using pipeline::service::Access;
using pipeline::service::AccessTokens;
using pipeline::service::load_service_tokens;
using pipeline::testing::TempDir;

namespace {

// 2026-01-01T00:00:00Z, a whole second, so a read token's expiry is exact.
const std::chrono::system_clock::time_point k_tokens_t0{std::chrono::seconds(1767225600)};
const std::string k_tokens_service_a = "svc-token-aaaaaaaaaaaaaaaa";
const std::string k_tokens_service_b = "svc-token-bbbbbbbbbbbbbbbb";

void tokens_write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  REQUIRE(out.good());
}

}  // namespace

TEST_CASE("service tokens open the whole API; anything else opens nothing") {
  const AccessTokens tokens({k_tokens_service_a, k_tokens_service_b});
  CHECK(tokens.enabled());
  for (const auto& token : {k_tokens_service_a, k_tokens_service_b}) {
    const Access access = tokens.check(token, k_tokens_t0);
    CHECK(access.kind == Access::Kind::service);
    CHECK(access.may_read_run("any-run"));
  }
  for (const std::string other : {"", "svc-token-cccccccccccccccc", "svc-token-aaaaaaaaaaaaaaa",
                                  "svc-token-aaaaaaaaaaaaaaaaa", "SVC-TOKEN-AAAAAAAAAAAAAAAA", "prt_", "prt_1_2_3"}) {
    CAPTURE(other);
    const Access access = tokens.check(other, k_tokens_t0);
    CHECK(access.kind == Access::Kind::none);
    CHECK_FALSE(access.may_read_run("any-run"));
  }
}

TEST_CASE("without service tokens the API is open and no token is known") {
  const AccessTokens tokens({});
  CHECK_FALSE(tokens.enabled());
  CHECK(tokens.check(k_tokens_service_a, k_tokens_t0).kind == Access::Kind::none);
}

TEST_CASE("a read token reads its own run only, until it expires") {
  const AccessTokens tokens({k_tokens_service_a});
  const auto issued = tokens.issue_read_token("run-a", std::chrono::hours(1), k_tokens_t0);
  CHECK(issued.token.rfind("prt_", 0) == 0);
  CHECK(issued.expires_at == "2026-01-01T01:00:00Z");

  const Access access = tokens.check(issued.token, k_tokens_t0);
  CHECK(access.kind == Access::Kind::run);
  CHECK(access.run_id == "run-a");
  CHECK(access.may_read_run("run-a"));
  CHECK_FALSE(access.may_read_run("run-b"));
  CHECK_FALSE(access.may_read_run("run-a2"));

  CHECK(tokens.check(issued.token, k_tokens_t0 + std::chrono::seconds(3599)).kind == Access::Kind::run);
  CHECK(tokens.check(issued.token, k_tokens_t0 + std::chrono::seconds(3600)).kind == Access::Kind::none);
  CHECK(tokens.check(issued.token, k_tokens_t0 + std::chrono::hours(48)).kind == Access::Kind::none);

  // A run id with the separator in it is still read back whole.
  const auto underscored = tokens.issue_read_token("run_with_under_scores", std::chrono::minutes(5), k_tokens_t0);
  const Access under = tokens.check(underscored.token, k_tokens_t0);
  CHECK(under.kind == Access::Kind::run);
  CHECK(under.run_id == "run_with_under_scores");
}

TEST_CASE("a read token with any character changed is refused") {
  const AccessTokens tokens({k_tokens_service_a});
  const std::string token = tokens.issue_read_token("run-a", std::chrono::hours(1), k_tokens_t0).token;
  REQUIRE(tokens.check(token, k_tokens_t0).kind == Access::Kind::run);
  // Every position: the prefix, the expiry, the separators, the MAC and the run id.
  for (std::size_t at = 0; at < token.size(); ++at) {
    for (const char replacement : {'0', '9', 'a', 'f', 'A', '_', '-'}) {
      if (token[at] == replacement) continue;
      std::string tampered = token;
      tampered[at] = replacement;
      CAPTURE(tampered);
      CHECK(tokens.check(tampered, k_tokens_t0).kind == Access::Kind::none);
    }
  }
  // Longer expiry, run id cut short or lengthened.
  const auto expiry_end = token.find('_', 4);
  REQUIRE(expiry_end != std::string::npos);
  CHECK(tokens.check(token.substr(0, 4) + "9" + token.substr(4), k_tokens_t0).kind == Access::Kind::none);
  CHECK(tokens.check(token.substr(0, token.size() - 1), k_tokens_t0).kind == Access::Kind::none);
  CHECK(tokens.check(token + "b", k_tokens_t0).kind == Access::Kind::none);
  CHECK(tokens.check(token.substr(0, expiry_end) + token.substr(expiry_end + 1), k_tokens_t0).kind ==
        Access::Kind::none);
}

TEST_CASE("read tokens signed with another key are refused") {
  const AccessTokens ours({k_tokens_service_a});
  const AccessTokens theirs({k_tokens_service_b});
  const auto foreign = theirs.issue_read_token("run-a", std::chrono::hours(1), k_tokens_t0);
  CHECK(theirs.check(foreign.token, k_tokens_t0).kind == Access::Kind::run);
  CHECK(ours.check(foreign.token, k_tokens_t0).kind == Access::Kind::none);

  // An explicit signing key wins over the service tokens, both ways.
  const AccessTokens keyed_a({k_tokens_service_a}, std::string("shared signing key"));
  const AccessTokens keyed_b({k_tokens_service_b}, std::string("shared signing key"));
  const AccessTokens keyed_other({k_tokens_service_a}, std::string("another signing key"));
  const auto keyed = keyed_a.issue_read_token("run-k", std::chrono::hours(1), k_tokens_t0);
  CHECK(keyed_b.check(keyed.token, k_tokens_t0).kind == Access::Kind::run);
  CHECK(keyed_other.check(keyed.token, k_tokens_t0).kind == Access::Kind::none);
  CHECK(ours.check(keyed.token, k_tokens_t0).kind == Access::Kind::none);
}

TEST_CASE("servers given the same service tokens accept each other's read tokens") {
  const AccessTokens first({k_tokens_service_a, k_tokens_service_b});
  // The same tokens in another order, as another process may list them.
  const AccessTokens second({k_tokens_service_b, k_tokens_service_a});
  const auto from_first = first.issue_read_token("run-x", std::chrono::hours(1), k_tokens_t0);
  const auto from_second = second.issue_read_token("run-y", std::chrono::hours(1), k_tokens_t0);
  const Access x = second.check(from_first.token, k_tokens_t0);
  CHECK(x.kind == Access::Kind::run);
  CHECK(x.run_id == "run-x");
  const Access y = first.check(from_second.token, k_tokens_t0);
  CHECK(y.kind == Access::Kind::run);
  CHECK(y.run_id == "run-y");
  // A server given fewer tokens signs with another key.
  const AccessTokens third({k_tokens_service_a});
  CHECK(third.check(from_first.token, k_tokens_t0).kind == Access::Kind::none);
}

TEST_CASE("service tokens load from a comma list and a file") {
  TempDir dir;
  const std::string file = dir / "tokens";
  tokens_write_file(file,
                    "# serve tokens, one a line\r\n"
                    "\r\n"
                    "file-token-1111111111\r\n"
                    "   # an indented comment\n"
                    "\t file-token-2222222222 \t\n"
                    "\n"
                    "file-token-3333333333");
  auto loaded = load_service_tokens(" list-token-aaaaaaaaaa ,, list-token-bbbbbbbbbb,", std::filesystem::path(file));
  REQUIRE_MESSAGE(loaded.has_value(), loaded.error().message);
  CHECK(*loaded == std::vector<std::string>{"list-token-aaaaaaaaaa", "list-token-bbbbbbbbbb", "file-token-1111111111",
                                            "file-token-2222222222", "file-token-3333333333"});

  auto none = load_service_tokens("", std::nullopt);
  REQUIRE(none.has_value());
  CHECK(none->empty());

  auto missing = load_service_tokens("", std::filesystem::path(dir / "no-such-file"));
  CHECK_FALSE(missing.has_value());
}

TEST_CASE("a short token or one with a space is refused without showing it") {
  TempDir dir;
  struct Case {
    std::string listed;
    std::string file_content;
    std::string secret;  // a piece of the bad token that must not be told
  };
  const std::vector<Case> cases{
      {"list-token-aaaaaaaaaa,Zq8shortXy", "", "Zq8shortXy"},
      {"Kp4space Rt7tokenLongEnough", "", "Kp4space"},
      {"", "file-token-1111111111\nWv3tiny\n", "Wv3tiny"},
      {"", "Hj6with space-in-the-middle\r\n", "Hj6with"},
      {"", "Bn2with\ttab-in-the-middle-of-it\n", "Bn2with"},
  };
  for (const auto& item : cases) {
    CAPTURE(item.secret);
    std::optional<std::filesystem::path> file;
    if (!item.file_content.empty()) {
      file = dir / "tokens.txt";
      tokens_write_file(file->string(), item.file_content);
    }
    auto loaded = load_service_tokens(item.listed, file);
    REQUIRE_FALSE(loaded.has_value());
    CHECK(loaded.error().kind == pipeline::util::ErrorKind::bad_input);
    const std::string& message = loaded.error().message;
    CHECK(message.find(item.secret) == std::string::npos);
    CHECK(message.find(file ? file->string() : std::string("PIPELINE_SERVE_TOKENS")) != std::string::npos);
  }
}

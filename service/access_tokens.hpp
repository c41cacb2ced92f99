#pragma once

// Who may use `pipeline serve`: service tokens (PIPELINE_SERVE_TOKENS or a
// token file) open the whole API; a read token, issued when a run is made,
// opens that one run for reading until it expires, so a web app's server can
// hand it to a browser. Service tokens are kept only as SHA-256 hashes and
// compared in constant time; read tokens are signed with HMAC-SHA256.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/util/expected.hpp"

namespace pipeline::service {

// What a request's token lets it do.
struct Access {
  enum class Kind { none, service, run };
  Kind kind = Kind::none;
  std::string run_id;  // Kind::run: the one run it may read

  bool may_read_run(const std::string& id) const { return kind == Kind::service || (kind == Kind::run && run_id == id); }
};

// A read token and when it stops working.
struct ReadToken {
  std::string token;
  std::string expires_at;  // ISO 8601, UTC
};

class AccessTokens {
 public:
  // No tokens: the API is open (serve then listens on loopback only). The
  // signing key is `signing_key` when given, else derived from the service
  // tokens, so every serve process given the same tokens accepts the read
  // tokens of the others.
  AccessTokens(const std::vector<std::string>& service_tokens, std::optional<std::string> signing_key = std::nullopt);

  // Whether tokens are needed at all.
  bool enabled() const { return !m_hashes.empty(); }
  // What `token` allows at `now`: a service token, a read token that is
  // well formed, correctly signed and not expired, or nothing.
  Access check(std::string_view token, std::chrono::system_clock::time_point now) const;
  // A read token for the run, valid for `ttl` from `now`.
  ReadToken issue_read_token(const std::string& run_id, std::chrono::seconds ttl,
                             std::chrono::system_clock::time_point now) const;

 private:
  std::string signature(std::string_view payload) const;

  std::vector<std::string> m_hashes;  // raw SHA-256 digests of the service tokens
  std::string m_signing_key;
};

// The service tokens: the comma-separated `listed` (PIPELINE_SERVE_TOKENS)
// and the lines of `file` (blank lines and lines starting with '#' left out).
// A token shorter than 16 characters, or with spaces or control characters,
// is bad_input naming where it came from but never the token.
util::Expected<std::vector<std::string>> load_service_tokens(std::string_view listed,
                                                             const std::optional<std::filesystem::path>& file);

}  // namespace pipeline::service

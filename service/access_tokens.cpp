#include "service/access_tokens.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "lib/notify/webhook_signature.hpp"
#include "lib/util/error.hpp"
#include "lib/util/file_io.hpp"
#include "lib/util/sha256.hpp"

namespace pipeline::service {
namespace {

constexpr std::string_view k_read_token_prefix = "prt_";
constexpr std::size_t k_min_token_length = 16;
constexpr std::size_t k_hex_mac_length = 64;

std::string raw_sha256(std::string_view text) {
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
         reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

bool same_bytes(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string iso8601_utc(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

util::Expected<void> check_token_text(std::string_view token, const std::string& where) {
  if (token.size() < k_min_token_length) {
    return util::fail(util::ErrorKind::bad_input,
                       fmt::format("a service token from {} is shorter than {} characters", where, k_min_token_length));
  }
  for (const unsigned char c : token) {
    if (c <= ' ' || c == 0x7f) {
      return util::fail(util::ErrorKind::bad_input,
                         fmt::format("a service token from {} holds a space or a control character", where));
    }
  }
  return {};
}

}  // namespace

AccessTokens::AccessTokens(const std::vector<std::string>& service_tokens, std::optional<std::string> signing_key) {
  std::vector<std::string> sorted = service_tokens;
  std::sort(sorted.begin(), sorted.end());
  std::string material = "pipeline serve read tokens\n";
  for (const auto& token : sorted) {
    m_hashes.push_back(raw_sha256(token));
    material += token + "\n";
  }
  m_signing_key = signing_key && !signing_key->empty() ? *signing_key : raw_sha256(material);
}

std::string AccessTokens::signature(std::string_view payload) const {
  return notify::hmac_sha256_hex(m_signing_key, fmt::format("read-token:{}", payload));
}

Access AccessTokens::check(std::string_view token, std::chrono::system_clock::time_point now) const {
  if (token.empty()) return {};
  // Every hash is compared, so the time taken does not tell which one matched.
  const std::string hash = raw_sha256(token);
  bool service = false;
  for (const auto& known : m_hashes) service |= same_bytes(hash, known);
  if (service) return {Access::Kind::service, {}};

  // prt_<expiry in unix seconds>_<hex HMAC>_<run id>: run ids have no '_'.
  if (token.substr(0, k_read_token_prefix.size()) != k_read_token_prefix) return {};
  const std::string_view rest = token.substr(k_read_token_prefix.size());
  const auto first = rest.find('_');
  if (first == std::string_view::npos || first == 0 || first > 12) return {};
  const std::string_view expiry = rest.substr(0, first);
  if (!std::all_of(expiry.begin(), expiry.end(), [](char c) { return c >= '0' && c <= '9'; })) return {};
  const std::string_view tail = rest.substr(first + 1);
  if (tail.size() < k_hex_mac_length + 2 || tail[k_hex_mac_length] != '_') return {};
  const std::string_view mac = tail.substr(0, k_hex_mac_length);
  const std::string run_id(tail.substr(k_hex_mac_length + 1));
  if (!same_bytes(mac, signature(fmt::format("{}_{}", expiry, run_id)))) return {};
  const auto expires = std::chrono::system_clock::time_point(std::chrono::seconds(std::stoll(std::string(expiry))));
  if (now >= expires) return {};
  return {Access::Kind::run, run_id};
}

ReadToken AccessTokens::issue_read_token(const std::string& run_id, std::chrono::seconds ttl,
                                         std::chrono::system_clock::time_point now) const {
  const auto expires = std::chrono::time_point_cast<std::chrono::seconds>(now + ttl);
  const std::string expiry = std::to_string(expires.time_since_epoch().count());
  return {fmt::format("{}{}_{}_{}", k_read_token_prefix, expiry, signature(fmt::format("{}_{}", expiry, run_id)), run_id),
          iso8601_utc(expires)};
}

util::Expected<std::vector<std::string>> load_service_tokens(std::string_view listed,
                                                             const std::optional<std::filesystem::path>& file) {
  std::vector<std::string> tokens;
  std::size_t start = 0;
  while (start <= listed.size()) {
    auto end = listed.find(',', start);
    if (end == std::string_view::npos) end = listed.size();
    std::string_view token = listed.substr(start, end - start);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (!token.empty()) {
      if (auto checked = check_token_text(token, "PIPELINE_SERVE_TOKENS"); !checked) return checked.error();
      tokens.emplace_back(token);
    }
    start = end + 1;
  }
  if (file) {
    auto text = util::read_file(*file, {.max_bytes = 1 << 20});
    if (!text) return text.error();
    std::size_t begin = 0;
    while (begin < text->size()) {
      auto end = text->find('\n', begin);
      if (end == std::string::npos) end = text->size();
      std::string_view line(text->data() + begin, end - begin);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
      if (!line.empty() && line.front() != '#') {
        if (auto checked = check_token_text(line, file->string()); !checked) return checked.error();
        tokens.emplace_back(line);
      }
      begin = end + 1;
    }
  }
  return tokens;
}

}  // namespace pipeline::service

#include "lib/notify/webhook_signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <climits>
#include <optional>

#include <fmt/format.h>

#include "lib/util/hex.hpp"

namespace pipeline::notify {
namespace {

constexpr std::string_view k_signature_base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string hmac_sha256_bytes(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  // A key longer than the block is hashed first (RFC 2104), so only an
  // absurd length could overflow the int that OpenSSL takes.
  const int key_size = key.size() > static_cast<std::size_t>(INT_MAX) ? INT_MAX : static_cast<int>(key.size());
  HMAC(EVP_sha256(), key.data(), key_size, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       digest.data(), &size);
  return std::string(reinterpret_cast<const char*>(digest.data()), size);
}

// Standard base64 (RFC 4648 section 4) with its padding.
std::string signature_base64(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t at = 0; at < bytes.size(); at += 3) {
    const std::size_t count = std::min<std::size_t>(3, bytes.size() - at);
    std::uint32_t group = 0;
    for (std::size_t i = 0; i < 3; ++i) {
      group = (group << 8) | (i < count ? static_cast<unsigned char>(bytes[at + i]) : 0u);
    }
    for (std::size_t i = 0; i < 4; ++i) {
      text.push_back(i <= count ? k_signature_base64_alphabet[(group >> (18 - 6 * i)) & 0x3f] : '=');
    }
  }
  return text;
}

// The bytes of padded standard base64, or nullopt for anything else (other
// alphabets, missing padding, white space).
std::optional<std::string> decode_signature_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  std::string bytes;
  std::uint32_t group = 0;
  int bits = 0;
  for (std::size_t at = 0; at < text.size() - padding; ++at) {
    const auto value = k_signature_base64_alphabet.find(text[at]);
    if (value == std::string_view::npos) return std::nullopt;
    group = (group << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((group >> bits) & 0xff));
    }
  }
  return bytes;
}

bool equal_in_constant_time(std::string_view a, std::string_view b) {
  // Only the length, which is public, decides early.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

util::Error refused_webhook(std::string message) { return util::fail(util::ErrorKind::bad_input, std::move(message)); }

}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  return util::to_hex(hmac_sha256_bytes(key, message));
}

std::string webhook_signature(std::string_view secret, std::string_view body) {
  return "sha256=" + hmac_sha256_hex(secret, body);
}

bool verify_webhook_signature(std::string_view secret, std::string_view body, std::string_view header_value) {
  return equal_in_constant_time(header_value, webhook_signature(secret, body));
}

util::Expected<std::string> standard_webhook_key(std::string_view secret) {
  if (secret.substr(0, k_standard_secret_prefix.size()) != k_standard_secret_prefix) return std::string(secret);
  auto key = decode_signature_base64(secret.substr(k_standard_secret_prefix.size()));
  if (!key) {
    return refused_webhook(fmt::format("the webhook secret starts with {} but the rest is not base64 (A-Z, a-z, 0-9, "
                                       "+ and /, padded with = to a multiple of 4 characters)",
                                       k_standard_secret_prefix));
  }
  if (key->empty()) {
    return refused_webhook(fmt::format("the webhook secret is {} and nothing after it", k_standard_secret_prefix));
  }
  return std::move(*key);
}

std::string standard_webhook_signature(std::string_view key, std::string_view id, std::int64_t timestamp,
                                       std::string_view body) {
  std::string content = fmt::format("{}.{}.", id, timestamp);
  content.append(body);
  return "v1," + signature_base64(hmac_sha256_bytes(key, content));
}

std::int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

util::Expected<void> verify_standard_webhook(std::string_view secret, std::string_view id, std::string_view timestamp,
                                             std::string_view body, std::string_view signatures,
                                             std::int64_t now_s) {
  if (id.empty() || timestamp.empty() || signatures.empty()) {
    return refused_webhook(fmt::format("a webhook needs the headers {}, {} and {}", k_standard_id_header,
                                       k_standard_timestamp_header, k_standard_signature_header));
  }
  std::int64_t sent_s = 0;
  const auto [end, error] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), sent_s);
  if (error != std::errc() || end != timestamp.data() + timestamp.size()) {
    return refused_webhook(fmt::format("{} is not an integer number of seconds", k_standard_timestamp_header));
  }
  if (sent_s < now_s - k_standard_tolerance_s) {
    return refused_webhook(fmt::format("{} is more than {} s old", k_standard_timestamp_header,
                                       k_standard_tolerance_s));
  }
  if (sent_s > now_s + k_standard_tolerance_s) {
    return refused_webhook(fmt::format("{} is more than {} s ahead", k_standard_timestamp_header,
                                       k_standard_tolerance_s));
  }
  auto key = standard_webhook_key(secret);
  if (!key) return key.error();
  const std::string expected = standard_webhook_signature(*key, id, sent_s, body);
  // Every candidate is compared, so the time taken does not tell which matched.
  bool matched = false;
  std::size_t start = 0;
  while (start <= signatures.size()) {
    const std::size_t space = signatures.find(' ', start);
    const std::string_view candidate =
        signatures.substr(start, space == std::string_view::npos ? std::string_view::npos : space - start);
    matched = equal_in_constant_time(candidate, expected) || matched;
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  if (!matched) return refused_webhook(fmt::format("no signature in {} matches", k_standard_signature_header));
  return {};
}

util::Expected<void> verify_standard_webhook(std::string_view secret, std::string_view id, std::string_view timestamp,
                                             std::string_view body, std::string_view signatures) {
  return verify_standard_webhook(secret, id, timestamp, body, signatures, unix_seconds_now());
}

}  // namespace pipeline::notify

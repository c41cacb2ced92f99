#include "lib/notify/webhook_signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <climits>

#include "lib/util/hex.hpp"

namespace pipeline::notify {

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  // A key longer than the block is hashed first (RFC 2104), so only an
  // absurd length could overflow the int that OpenSSL takes.
  const int key_size = key.size() > static_cast<std::size_t>(INT_MAX) ? INT_MAX : static_cast<int>(key.size());
  HMAC(EVP_sha256(), key.data(), key_size, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       digest.data(), &size);
  return util::to_hex(std::string_view(reinterpret_cast<const char*>(digest.data()), size));
}

std::string webhook_signature(std::string_view secret, std::string_view body) {
  return "sha256=" + hmac_sha256_hex(secret, body);
}

bool verify_webhook_signature(std::string_view secret, std::string_view body, std::string_view header_value) {
  const std::string expected = webhook_signature(secret, body);
  return header_value.size() == expected.size() &&
         CRYPTO_memcmp(header_value.data(), expected.data(), expected.size()) == 0;
}

}  // namespace pipeline::notify

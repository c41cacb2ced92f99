#include "lib/util/random_hex.hpp"

#include <openssl/rand.h>

#include <random>
#include <string_view>
#include <vector>

#include "lib/util/hex.hpp"

namespace pipeline::util {

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1) {
    // Without an entropy source OpenSSL refuses; the kernel's still answers.
    std::random_device device;
    for (auto& byte : buffer) byte = static_cast<unsigned char>(device());
  }
  return to_hex(std::string_view(reinterpret_cast<const char*>(buffer.data()), buffer.size()));
}

}  // namespace pipeline::util

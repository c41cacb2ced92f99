#include "lib/util/hex.hpp"

namespace pipeline::util {

std::string to_hex(std::string_view bytes) {
  static constexpr char k_hex_digits[] = "0123456789abcdef";
  std::string hex(bytes.size() * 2, '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto byte = static_cast<unsigned char>(bytes[i]);
    hex[2 * i] = k_hex_digits[byte >> 4];
    hex[2 * i + 1] = k_hex_digits[byte & 0x0f];
  }
  return hex;
}

}  // namespace pipeline::util

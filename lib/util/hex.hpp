#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pipeline::util {

// Each byte of `bytes` as two lowercase hex digits, e.g. "\x01\xab" -> "01ab".
std::string to_hex(std::string_view bytes);

// The bytes that to_hex wrote (either case of digit); nullopt for an odd
// length or any other character.
std::optional<std::string> from_hex(std::string_view hex);

}  // namespace pipeline::util

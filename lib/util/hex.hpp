#pragma once

#include <string>
#include <string_view>

namespace pipeline::util {

// Each byte of `bytes` as two lowercase hex digits, e.g. "\x01\xab" -> "01ab".
std::string to_hex(std::string_view bytes);

}  // namespace pipeline::util

#pragma once

#include <cstddef>
#include <string_view>

namespace pipeline::util {

// The longest id is_valid_identifier() accepts.
inline constexpr std::size_t k_max_identifier_length = 128;

// True for ids of the form [a-z0-9][a-z0-9._-]* without "..", at most
// k_max_identifier_length bytes: safe as a file name, as part of a Redis key
// and in a URL, whoever wrote them (run ids, job ids).
bool is_valid_identifier(std::string_view id);

}  // namespace pipeline::util

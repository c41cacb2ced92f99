#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pipeline::testing {

// A string that matches `pattern` (ECMAScript syntax, the simple subset that
// schemas use: anchors, literals, escapes such as \S \s \d \w, '.', character
// classes, groups with alternatives, and the quantifiers ? * + {n} {n,} {n,m}),
// built from plausible words chosen by `seed`; nullopt when the pattern uses
// something else or the result does not match.
std::optional<std::string> example_for_pattern(const std::string& pattern, std::uint64_t seed);

}  // namespace pipeline::testing

#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pipeline::util {

using Clock = std::chrono::steady_clock;

// The current UTC time as ISO 8601 with milliseconds, e.g. 2026-11-29T09:01:46.123Z.
std::string now_iso8601();

// The current UTC time as a compact stamp for ids, e.g. 20261129-090146.
std::string now_compact_stamp();

// Parses a duration such as "55s", "1.5m", "2h", "30d", "500ms" or a bare
// number of seconds; nullopt when the text is not a positive duration of at least a
// millisecond (after rounding), or is absurdly long. The one syntax of every
// duration option: --deadline, the timeouts, prune's ages and --ttl.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// Seconds elapsed since `start`, as a double.
double seconds_since(Clock::time_point start);

}  // namespace pipeline::util

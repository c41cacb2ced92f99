#include "lib/util/time.hpp"

#include <charconv>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace pipeline::util {
namespace {

std::tm utc_now(long* milliseconds) {
  const auto now = std::chrono::system_clock::now();
  const auto since_epoch = now.time_since_epoch();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  *milliseconds = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  return parts;
}

}  // namespace

std::string now_iso8601() {
  long ms = 0;
  const std::tm t = utc_now(&ms);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                     t.tm_hour, t.tm_min, t.tm_sec, ms);
}

std::string now_compact_stamp() {
  long ms = 0;
  const std::tm t = utc_now(&ms);
  return fmt::format("{:04}{:02}{:02}-{:02}{:02}{:02}", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour,
                     t.tm_min, t.tm_sec);
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  double number = 0;
  const auto* end = text.data() + text.size();
  auto [rest, ec] = std::from_chars(text.data(), end, number);
  if (ec != std::errc() || !std::isfinite(number) || number <= 0) return std::nullopt;
  const std::string_view unit(rest, static_cast<size_t>(end - rest));
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1000;
  else if (unit == "ms") scale = 1;
  else if (unit == "m" || unit == "min") scale = 60'000;
  else if (unit == "h") scale = 3'600'000;
  else if (unit == "d") scale = 86'400'000;
  else return std::nullopt;
  const double milliseconds = std::round(number * scale);
  // Less than half a millisecond would be a zero timeout, which means none to libcurl.
  if (milliseconds < 1 || milliseconds > 1e15) return std::nullopt;
  return std::chrono::milliseconds(static_cast<long long>(milliseconds));
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace pipeline::util

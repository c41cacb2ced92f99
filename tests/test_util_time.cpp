#include <doctest/doctest.h>

#include "lib/util/time.hpp"

using pipeline::util::parse_duration;

TEST_CASE("parse_duration reads seconds, minutes, hours and milliseconds") {
  CHECK(parse_duration("55s")->count() == 55'000);
  CHECK(parse_duration("55")->count() == 55'000);
  CHECK(parse_duration("1.5m")->count() == 90'000);
  CHECK(parse_duration("2h")->count() == 7'200'000);
  CHECK(parse_duration("250ms")->count() == 250);
  CHECK(parse_duration("30d")->count() == 30LL * 86'400'000);
}

TEST_CASE("parse_duration refuses what is not a positive duration") {
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("abc"));
  CHECK_FALSE(parse_duration("-5s"));
  CHECK_FALSE(parse_duration("0"));
  CHECK_FALSE(parse_duration("5 parsecs"));
  CHECK_FALSE(parse_duration("5w"));
}

TEST_CASE("now_iso8601 has the documented shape") {
  const auto stamp = pipeline::util::now_iso8601();
  REQUIRE(stamp.size() == 24);
  CHECK(stamp[10] == 'T');
  CHECK(stamp.back() == 'Z');
}

TEST_CASE("parse_duration takes the syntax every duration option shares") {
  CHECK(parse_duration("500ms")->count() == 500);
  CHECK(parse_duration("1.5h")->count() == 5'400'000);
  CHECK(parse_duration("5m")->count() == 300'000);
  CHECK(parse_duration("2min")->count() == 120'000);
  CHECK(parse_duration("0.25")->count() == 250);
  CHECK(parse_duration("0.0006")->count() == 1);
  // What would round to no time at all is refused: a zero timeout means none.
  CHECK_FALSE(parse_duration("0.0004"));
  CHECK_FALSE(parse_duration("0.1ms"));
  CHECK_FALSE(parse_duration("1e300h"));
  CHECK_FALSE(parse_duration("2 s"));
  CHECK_FALSE(parse_duration("s"));
}

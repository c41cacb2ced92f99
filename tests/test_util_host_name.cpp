#include <doctest/doctest.h>

#include <unistd.h>

#include "lib/util/host_name.hpp"

TEST_CASE("host_name is the system's host name") {
  char expected[256] = {};
  REQUIRE(::gethostname(expected, sizeof expected - 1) == 0);
  CHECK(pipeline::util::host_name() == expected);
  CHECK_FALSE(pipeline::util::host_name().empty());
}

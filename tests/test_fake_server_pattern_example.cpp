#include <doctest/doctest.h>

#include <regex>

#include "tests/fake_server/pattern_example.hpp"

using pipeline::testing::example_for_pattern;

TEST_CASE("examples match the patterns the stage schemas use") {
  for (const std::string pattern : {"^When .+, removing .+ by .+ creates .+$", "^I need to .+ so that .+$",
                                    "^\\S+(\\s+\\S+){0,7}$", "^[A-Z]{3}$", "^(?:yes|no)$", "^v\\d+\\.\\d+$"}) {
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
      const auto example = example_for_pattern(pattern, seed);
      REQUIRE_MESSAGE(example, pattern);
      CHECK_MESSAGE(std::regex_search(*example, std::regex(pattern)), pattern << " -> " << *example);
    }
  }
}

TEST_CASE("the seed varies the example") {
  CHECK(example_for_pattern("^I need to .+ so that .+$", 1) != example_for_pattern("^I need to .+ so that .+$", 2));
}

TEST_CASE("unsupported patterns give nothing rather than a wrong string") {
  CHECK_FALSE(example_for_pattern("^[^a]+$", 1));
  CHECK_FALSE(example_for_pattern("\\bword\\b", 1));
  CHECK_FALSE(example_for_pattern("(unclosed", 1));
}

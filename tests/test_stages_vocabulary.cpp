#include <doctest/doctest.h>

#include "stages/vocabulary.hpp"

namespace vocabulary = pipeline::stages::vocabulary;

TEST_CASE("the Ten Types fall into Doblin's three categories") {
  REQUIRE(vocabulary::ten_types().size() == 10);
  CHECK(vocabulary::ten_type_category("profit_model") == "configuration");
  CHECK(vocabulary::ten_type_category("process") == "configuration");
  CHECK(vocabulary::ten_type_category("product_performance") == "offering");
  CHECK(vocabulary::ten_type_category("product_system") == "offering");
  CHECK(vocabulary::ten_type_category("service") == "experience");
  CHECK(vocabulary::ten_type_category("customer_engagement") == "experience");
  CHECK(vocabulary::ten_type_category("marketing").empty());
}

TEST_CASE("patterns have labels and file-name forms") {
  REQUIRE(vocabulary::patterns().size() == 5);
  CHECK(vocabulary::pattern_label("better_for_you") == "Better-for-you");
  CHECK(vocabulary::pattern_label("occasion_expansion") == "Occasion expansion");
  CHECK(vocabulary::dashed("format_migration") == "format-migration");
}

TEST_CASE("the methodology's closed lists have their sizes") {
  CHECK(vocabulary::mechanism_types().size() == 10);
  CHECK(vocabulary::constraint_kinds().size() == 5);
  CHECK(vocabulary::mechanism_ids() == std::vector<std::string>{"M1", "M2", "M3"});
  CHECK(vocabulary::defensibility_levels() == std::vector<std::string>{"low", "medium", "high"});
}

#include <doctest/doctest.h>

#include "stages/stage.hpp"
#include "stages/stage_registry.hpp"

using namespace pipeline;

TEST_CASE("all_stages lists the five stages in order") {
  const auto& stages = stages::all_stages();
  REQUIRE(stages.size() == 5);
  const std::vector<std::string> names = {"mechanisms", "signals", "lessons", "contextualize", "opportunities"};
  for (size_t i = 0; i < stages.size(); ++i) {
    CHECK(stages[i]->number() == static_cast<int>(i) + 1);
    CHECK(stages[i]->name() == names[i]);
    CHECK(stages[i]->uses_brand() == (i >= 3));
    for (int read : stages[i]->reads()) CHECK(read < stages[i]->number());
  }
}

TEST_CASE("find_stage takes a number or a name") {
  CHECK(stages::find_stage("3") == stages::all_stages()[2].get());
  CHECK(stages::find_stage("lessons") == stages::all_stages()[2].get());
  CHECK(stages::find_stage("opportunities")->number() == 5);
  CHECK(stages::find_stage("0") == nullptr);
  CHECK(stages::find_stage("6") == nullptr);
  CHECK(stages::find_stage("") == nullptr);
  CHECK(stages::find_stage("Lessons") == nullptr);
}

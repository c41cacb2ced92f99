#include <doctest/doctest.h>

#include "stages/stage_files.hpp"
#include "stages/stage_registry.hpp"

using namespace pipeline;

TEST_CASE("stage files are numbered and named after the stage") {
  const auto& stage = *stages::find_stage("4");
  CHECK(stages::stage_file_path(stage, "json") == "stages/04-contextualize.json");
  CHECK(stages::stage_heading(stage) == "4. Brand contextualisation");
  const auto files = stages::stage_files(stage, {{"a", 1}}, "# Title\n\n\n");
  REQUIRE(files.size() == 2);
  CHECK(files[0].path == "stages/04-contextualize.json");
  CHECK(files[0].content == "{\n  \"a\": 1\n}\n");
  CHECK(files[1].path == "stages/04-contextualize.md");
  CHECK(files[1].content == "# Title\n");
}

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "lib/util/program_name.hpp"
#include "tests/support/process.hpp"

using namespace pipeline::util;

TEST_CASE("messages name the program as it was invoked") {
  set_program_name("pipeline");
  CHECK(program_name() == "pipeline");
  CHECK(name_commands("resume with `pipeline resume r1`") == "resume with `pipeline resume r1`");

  set_program_name("build/pipeline");
  CHECK(program_name() == "build/pipeline");
  CHECK(name_commands("run `pipeline mechanisms r1` first, then `pipeline resume r1`; pipeline alone stays") ==
        "run `build/pipeline mechanisms r1` first, then `build/pipeline resume r1`; pipeline alone stays");

  // A path into a folder on PATH is what a bare "pipeline" would find.
  pipeline::testing::TempDir dir;
  const std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  setenv("PATH", (dir.path() + ":" + old_path).c_str(), 1);
  set_program_name(dir.path() + "/pipeline");
  CHECK(program_name() == "pipeline");
  // Not if it was renamed.
  set_program_name(dir.path() + "/pipeline-dev");
  CHECK(program_name() == dir.path() + "/pipeline-dev");
  setenv("PATH", old_path.c_str(), 1);
  set_program_name("pipeline");
}

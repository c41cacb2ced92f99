#include <doctest/doctest.h>

#include <map>

#include "checkpoints/run_verification.hpp"
#include "lib/util/sha256.hpp"
#include "tests/support/run_states.hpp"

using namespace pipeline::checkpoints;
namespace util = pipeline::util;

namespace {

// A run with an input file, a report and stages 1 and 2 done, one artifact each.
RunState verification_state() {
  RunState state = pipeline::testing::sample_run_state("r1");
  state.files = {{"input/document.txt", util::sha256_hex("doc")}, {"report.md", util::sha256_hex("report")},
                 {"report.html", util::sha256_hex("page")}};
  for (int number = 1; number <= 2; ++number) {
    auto& stage = state.stage(number);
    stage.status = StageStatus::done;
    stage.artifacts = {{"stages/0" + std::to_string(number) + ".json", util::sha256_hex("out" + std::to_string(number))}};
  }
  return state;
}

FileDigest digests_of(const std::map<std::string, std::string>& contents) {
  return [contents](const std::string& path) -> util::Expected<std::optional<std::string>> {
    const auto found = contents.find(path);
    if (found == contents.end()) return std::optional<std::string>();
    return std::optional<std::string>(util::sha256_hex(found->second));
  };
}

const std::map<std::string, std::string> k_intact = {{"input/document.txt", "doc"}, {"report.md", "report"},
                                                     {"report.html", "page"}, {"stages/01.json", "out1"},
                                                     {"stages/02.json", "out2"}};

}  // namespace

TEST_CASE("the paths to verify: every file, the reports only without a redo, the done stages before the redo") {
  const RunState state = verification_state();
  CHECK(paths_to_verify(state, 0) ==
        std::vector<std::string>{"input/document.txt", "report.md", "report.html", "stages/01.json", "stages/02.json"});
  CHECK(paths_to_verify(state, 2) == std::vector<std::string>{"input/document.txt", "stages/01.json"});
  CHECK(paths_to_verify(state, 9) == paths_to_verify(state, 0));
  CHECK(is_report_path("report.md"));
  CHECK(is_report_path("report.html"));
  CHECK_FALSE(is_report_path("stages/report.md"));
}

TEST_CASE("verification passes an intact run and names what changed, with the way out") {
  const RunState state = verification_state();
  CHECK(verify_run_contents(state, 0, "/runs/r1", digests_of(k_intact)).has_value());

  auto changed = k_intact;
  changed["stages/02.json"] = "edited";
  auto result = verify_run_contents(state, 0, "/runs/r1", digests_of(changed));
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == pipeline::util::ErrorKind::bad_input);
  CHECK(result.error().message.find("`pipeline resume r1 --from signals`") != std::string::npos);
  CHECK(verify_run_contents(state, 2, "/runs/r1", digests_of(changed)).has_value());

  auto removed = k_intact;
  removed.erase("stages/01.json");
  CHECK(verify_run_contents(state, 0, "/runs/r1", digests_of(removed)).error().message.find(
            "was removed (no file /runs/r1/stages/01.json)") != std::string::npos);

  auto report = k_intact;
  report["report.html"] = "other";
  CHECK(verify_run_contents(state, 0, "/runs/r1", digests_of(report)).error().message.find("--from opportunities") !=
        std::string::npos);
  CHECK(verify_run_contents(state, 5, "/runs/r1", digests_of(report)).has_value());

  auto input = k_intact;
  input["input/document.txt"] = "other";
  CHECK(verify_run_contents(state, 1, "/runs/r1", digests_of(input)).error().message.find("part of the run's input") !=
        std::string::npos);
}

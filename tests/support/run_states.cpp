#include "tests/support/run_states.hpp"

#include <doctest/doctest.h>

#include "lib/util/sha256.hpp"
#include "tests/support/stage_names.hpp"

namespace pipeline::testing {

using checkpoints::RunState;

RunState sample_run_state(const std::string& run_id) {
  RunState state;
  state.tool_version = "0.1.0";
  state.run_id = run_id;
  state.created_at = "2026-01-01T12:00:00.000Z";
  state.updated_at = state.created_at;
  state.input = {"report.pdf", util::sha256_hex("pdf"), 10, 1, 100, "Report"};
  state.brand = {"acme", util::sha256_hex("brand"), "Acme"};
  state.settings = {{"model", "m1"}};
  for (int number = 1; number <= 5; ++number) {
    checkpoints::StageRecord stage;
    stage.number = number;
    stage.name = k_stage_names[number - 1];
    state.stages.push_back(stage);
  }
  return state;
}

RunState run_with_two_done_stages(checkpoints::RunStore& store, const std::string& run_id,
                                  std::unique_ptr<checkpoints::RunLock>* lock) {
  auto created = store.create(run_id);
  REQUIRE_MESSAGE(created.has_value(), created.error().message);
  RunState state = sample_run_state(run_id);
  state.status = checkpoints::RunStatus::incomplete;
  for (const std::string path : {"input/document.txt", "input/brand.json", "input/prompts/mechanisms.prompt"}) {
    auto file = store.write_artifact(run_id, path, "content of " + path);
    REQUIRE_MESSAGE(file.has_value(), file.error().message);
    state.files.push_back(*file);
  }
  for (int number = 1; number <= 2; ++number) {
    auto& stage = state.stage(number);
    const std::string base = "stages/0" + std::to_string(number) + "-" + stage.name;
    for (const std::string ext : {".json", ".md"}) {
      auto artifact = store.write_artifact(run_id, base + ext, "output of " + stage.name + ext);
      REQUIRE_MESSAGE(artifact.has_value(), artifact.error().message);
      stage.artifacts.push_back(*artifact);
    }
    stage.status = checkpoints::StageStatus::done;
    stage.attempts = 1;
    stage.duration_s = 1.5;
    stage.fingerprint = util::sha256_hex(base);
    stage.usage = {{"prompt_tokens", 10}};
  }
  auto saved = store.save(state);
  REQUIRE_MESSAGE(saved.has_value(), saved.error().message);
  if (lock) *lock = std::move(*created);
  return state;
}

}  // namespace pipeline::testing

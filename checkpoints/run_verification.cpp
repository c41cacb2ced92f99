#include "checkpoints/run_verification.hpp"

#include <fmt/format.h>

namespace pipeline::checkpoints {
namespace {

using util::ErrorKind;
using util::fail;

constexpr int k_verified_stage_count = 5;

int effective_redo_from(int redo_from) { return redo_from < 1 || redo_from > k_verified_stage_count ? 0 : redo_from; }

bool verifies_file(const ArtifactRef& file, int redo_from) { return !(is_report_path(file.path) && redo_from != 0); }

bool verifies_stage(const StageRecord& stage, int redo_from) {
  return stage.status == StageStatus::done && !(redo_from != 0 && stage.number >= redo_from);
}

}  // namespace

bool is_report_path(const std::string& path) { return path == "report.md" || path == "report.html"; }

std::vector<std::string> paths_to_verify(const RunState& state, int redo_from) {
  redo_from = effective_redo_from(redo_from);
  std::vector<std::string> paths;
  for (const auto& file : state.files) {
    if (verifies_file(file, redo_from)) paths.push_back(file.path);
  }
  for (const auto& stage : state.stages) {
    if (!verifies_stage(stage, redo_from)) continue;
    for (const auto& artifact : stage.artifacts) paths.push_back(artifact.path);
  }
  return paths;
}

util::Expected<void> verify_run_contents(const RunState& state, int redo_from, const std::string& location,
                                         const FileDigest& digest_of) {
  redo_from = effective_redo_from(redo_from);
  for (const auto& file : state.files) {
    if (!verifies_file(file, redo_from)) continue;
    const std::string advice =
        is_report_path(file.path) ? fmt::format("restore it or run `pipeline resume {} --from opportunities`", state.run_id)
                                  : std::string("it is part of the run's input: create a new run");
    auto digest = digest_of(file.path);
    if (!digest || !*digest || **digest != file.sha256) {
      return fail(ErrorKind::bad_input, fmt::format("file {} of run {} was changed or removed (sha256 mismatch); {}",
                                                    file.path, state.run_id, advice));
    }
  }
  for (const auto& stage : state.stages) {
    if (!verifies_stage(stage, redo_from)) continue;
    for (const auto& artifact : stage.artifacts) {
      const std::string redo =
          fmt::format("redo the stage with `pipeline resume {} --from {}`", state.run_id, stage.name);
      auto digest = digest_of(artifact.path);
      if (!digest) {
        return fail(ErrorKind::bad_input, fmt::format("artifact {} of stage {} cannot be read ({}); {}", artifact.path,
                                                      stage.number, digest.error().message, redo));
      }
      if (!*digest) {
        return fail(ErrorKind::bad_input, fmt::format("artifact {} of stage {} was removed (no file {}/{}); {}",
                                                      artifact.path, stage.number, location, artifact.path, redo));
      }
      if (**digest != artifact.sha256) {
        return fail(ErrorKind::bad_input,
                    fmt::format("artifact {} of stage {} was changed or removed (sha256 mismatch); {}", artifact.path,
                                stage.number, redo));
      }
    }
  }
  return {};
}

}  // namespace pipeline::checkpoints

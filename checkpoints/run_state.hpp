#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/util/expected.hpp"

namespace pipeline::checkpoints {

inline constexpr int k_schema_version = 1;

enum class RunStatus { created, running, incomplete, failed, completed };
enum class StageStatus { pending, running, done, failed, stale };

std::string_view to_string(RunStatus status);
std::string_view to_string(StageStatus status);
// The status named by its lowercase string; nullopt for an unknown name.
std::optional<RunStatus> parse_run_status(std::string_view text);
std::optional<StageStatus> parse_stage_status(std::string_view text);

// A file of the run and the SHA-256 of its content; path is relative to the run directory.
struct ArtifactRef {
  std::string path;
  std::string sha256;
};

struct ErrorRecord {
  std::string kind;  // util::to_string(ErrorKind)
  std::string message;
};

// The saved answer of one model request of a stage (see stages/stage_work.hpp):
// a stage cut off after some of its requests keeps their answers.
struct PartRecord {
  std::string name;         // e.g. "answer", "plan", "card-convenience", "chunk-2", "merge"
  std::string fingerprint;  // llm::request_fingerprint of the request it answers
  ArtifactRef artifact;     // the answer JSON, under stages/NN-<stage>.parts/
  nlohmann::json usage = nlohmann::json::object();  // what the request cost
  std::string model;  // the model that answered, as the provider named it (may differ from the one asked)
  std::string rung;   // the structured-output rung that answered (llm::to_string(StructuredRung))
  // What the model thought before answering, kept with --keep-reasoning
  // where the provider sends it: a text file beside the answer.
  std::optional<ArtifactRef> reasoning{};
};

struct StageRecord {
  int number = 0;
  std::string name;
  StageStatus status = StageStatus::pending;
  int attempts = 0;  // invocations that started this stage
  std::string started_at;
  std::string finished_at;
  std::optional<double> duration_s;
  std::string fingerprint;  // stage fingerprint: hash of everything the output depends on
  bool cached = false;      // done from the stage cache, without a model call (usage is zero)
  std::vector<PartRecord> parts;  // answers of the stage's requests, kept across invocations
  std::vector<ArtifactRef> artifacts;
  nlohmann::json usage = nlohmann::json::object();  // llm::Usage::to_json of the stage's calls
  std::optional<ErrorRecord> error;
  int deadline_abandons = 0;  // consecutive invocations that ran out of time in this stage
  // Style rules the kept output still breaks after every re-ask, e.g.
  // "card-convenience: $.title: ... does not match the pattern ...".
  std::vector<std::string> warnings;
};

struct InputRecord {
  std::string source;  // the path or URL given
  std::string sha256;
  std::uint64_t bytes = 0;
  int pages = 0;
  std::uint64_t chars = 0;
  std::string title;
};

struct BrandRecord {
  std::string id;
  std::string sha256;  // of the snapshot brand.json in the run
  std::string company_name;
};

// checkpoint.json: the one source of truth about a run.
struct RunState {
  int schema_version = k_schema_version;
  std::string tool_version;
  std::string run_id;
  RunStatus status = RunStatus::created;
  std::string created_at;
  std::string updated_at;
  InputRecord input;
  BrandRecord brand;
  nlohmann::json settings = nlohmann::json::object();  // base_url, model, per-stage params; never the key
  // Files of the run that no stage owns: the input snapshot (document, brand,
  // prompts) and report.md.
  std::vector<ArtifactRef> files;
  std::vector<StageRecord> stages;  // five, in order
  std::optional<ErrorRecord> error;  // why the run is failed or incomplete

  StageRecord& stage(int number);
  const StageRecord& stage(int number) const;
};

nlohmann::json to_json(const RunState& state);

// Parses and checks a checkpoint; any problem is bad_input naming what is wrong.
util::Expected<RunState> from_json(const nlohmann::json& json);

// True for ids of the form [a-z0-9][a-z0-9._-]* without "..".
bool is_valid_run_id(std::string_view id);
// bad_input naming the invalid run id and the rule it breaks.
util::Error invalid_run_id_error(const std::string& run_id);

// True for a relative path inside the run directory: no leading '/', no
// empty, "." or ".." component, and not one of the store's own files
// (checkpoint.json, events.ndjson, .lock).
bool is_safe_artifact_path(std::string_view path);

// A readable unique id: <document>-<brand>-<yyyymmdd-hhmmss>-<4 hex>.
std::string generate_run_id(std::string_view document_name, std::string_view brand_id);

}  // namespace pipeline::checkpoints

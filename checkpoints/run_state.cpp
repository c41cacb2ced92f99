#include "checkpoints/run_state.hpp"

#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "lib/llm/provider_profile.hpp"

#include "lib/util/identifier.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/time.hpp"

namespace pipeline::checkpoints {
namespace {

using nlohmann::json;

constexpr std::size_t k_max_slug_length = 40;
constexpr int k_stage_count = 5;

constexpr std::array k_run_statuses{RunStatus::created, RunStatus::running, RunStatus::incomplete,
                                    RunStatus::failed, RunStatus::completed};
constexpr std::array k_stage_statuses{StageStatus::pending, StageStatus::running, StageStatus::done,
                                      StageStatus::failed, StageStatus::stale};

// The one problem found in a checkpoint. Thrown only inside this file and
// always caught by from_json, which turns it into an Error.
struct Invalid {
  std::string message;
  bool about_a_field = true;  // false when the message stands on its own
};

[[noreturn]] void invalid(std::string message) { throw Invalid{std::move(message)}; }

std::string join(const std::string& where, std::string_view key) {
  return where.empty() ? std::string(key) : where + "." + std::string(key);
}

bool is_lower_hex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Reads the fields of one JSON object, naming each field by its jq-style path
// (input.sha256, stages[2].status) in every complaint.
class ObjectReader {
 public:
  ObjectReader(const json& value, std::string where) : m_value(value), m_where(std::move(where)) {
    if (!m_value.is_object()) {
      invalid(m_where.empty() ? fmt::format("the checkpoint must be a JSON object, not {}", m_value.type_name())
                              : fmt::format("field {} must be an object, not {}", m_where, m_value.type_name()));
    }
  }

  const std::string& where() const { return m_where; }
  std::string path(std::string_view key) const { return join(m_where, key); }

  const json& required(std::string_view key) const {
    auto it = m_value.find(std::string(key));
    if (it == m_value.end()) invalid("missing field " + path(key));
    return *it;
  }

  // Null for an absent optional field.
  const json* optional(std::string_view key) const {
    auto it = m_value.find(std::string(key));
    if (it == m_value.end() || it->is_null()) return nullptr;
    return &*it;
  }

  std::string string(std::string_view key) const { return as_string(required(key), key); }

  // An optional string: null and absent both read as "".
  std::string optional_string(std::string_view key) const {
    const json* value = optional(key);
    return value ? as_string(*value, key) : std::string();
  }

  std::string sha256(std::string_view key, bool allow_empty) const {
    std::string text = string(key);
    if (text.empty() && allow_empty) return text;
    if (text.size() != 64 || !is_lower_hex(text)) {
      invalid(fmt::format("field {} must be a SHA-256 of 64 lowercase hex digits, not \"{}\"", path(key), text));
    }
    return text;
  }

  int integer(std::string_view key, int min, int max) const {
    const json& value = required(key);
    if (!value.is_number_integer()) wrong_type(key, "an integer", value);
    const auto number = value.get<std::int64_t>();
    if (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
      out_of_range(key, min, max);
    }
    if (number < min || number > max) out_of_range(key, min, max);
    return static_cast<int>(number);
  }

  std::uint64_t count(std::string_view key) const {
    const json& value = required(key);
    if (!value.is_number_unsigned()) {
      if (value.is_number_integer()) invalid(fmt::format("field {} must not be negative", path(key)));
      wrong_type(key, "a non-negative integer", value);
    }
    return value.get<std::uint64_t>();
  }

  std::optional<double> optional_seconds(std::string_view key) const {
    const json* value = optional(key);
    if (!value) return std::nullopt;
    if (!value->is_number()) wrong_type(key, "a number or null", *value);
    const double number = value->get<double>();
    if (!std::isfinite(number) || number < 0) {
      invalid(fmt::format("field {} must be a non-negative number of seconds", path(key)));
    }
    return number;
  }

  const json& object(std::string_view key) const {
    const json& value = required(key);
    if (!value.is_object()) wrong_type(key, "an object", value);
    return value;
  }

  const json& array(std::string_view key) const {
    const json& value = required(key);
    if (!value.is_array()) wrong_type(key, "an array", value);
    return value;
  }

  [[noreturn]] void wrong_type(std::string_view key, std::string_view expected, const json& value) const {
    invalid(fmt::format("field {} must be {}, not {}", path(key), expected, value.type_name()));
  }

 private:
  std::string as_string(const json& value, std::string_view key) const {
    if (!value.is_string()) wrong_type(key, "a string", value);
    return value.get<std::string>();
  }

  [[noreturn]] void out_of_range(std::string_view key, int min, int max) const {
    invalid(fmt::format("field {} must be between {} and {}", path(key), min, max));
  }

  const json& m_value;
  std::string m_where;
};

template <typename Status, std::size_t N>
std::string status_names(const std::array<Status, N>& statuses) {
  std::string names;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) names += (i + 1 == N) ? " or " : ", ";
    names += to_string(statuses[i]);
  }
  return names;
}

template <typename Status, std::size_t N, typename Parse>
Status read_status(const ObjectReader& reader, std::string_view key, const std::array<Status, N>& statuses,
                   Parse parse) {
  const std::string text = reader.string(key);
  auto status = parse(text);
  if (!status) {
    invalid(fmt::format("field {} has unknown value \"{}\" (expected {})", reader.path(key), text,
                        status_names(statuses)));
  }
  return *status;
}

json error_to_json(const std::optional<ErrorRecord>& error) {
  if (!error) return nullptr;
  return json{{"kind", error->kind}, {"message", error->message}};
}

std::optional<ErrorRecord> read_error(const ObjectReader& parent, std::string_view key) {
  const json* value = parent.optional(key);
  if (!value) return std::nullopt;
  if (!value->is_object()) parent.wrong_type(key, "an object or null", *value);
  ObjectReader reader(*value, parent.path(key));
  ErrorRecord error{reader.string("kind"), reader.string("message")};
  if (error.kind.empty()) invalid("field " + reader.path("kind") + " must not be empty");
  return error;
}

// Empty strings stand for "not yet" and are written as null.
json string_or_null(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

json artifacts_to_json(const std::vector<ArtifactRef>& refs) {
  json artifacts = json::array();
  for (const auto& artifact : refs) artifacts.push_back({{"path", artifact.path}, {"sha256", artifact.sha256}});
  return artifacts;
}

json parts_to_json(const std::vector<PartRecord>& parts) {
  json out = json::array();
  for (const auto& part : parts) {
    out.push_back({{"name", part.name},
                   {"fingerprint", part.fingerprint},
                   {"artifact", {{"path", part.artifact.path}, {"sha256", part.artifact.sha256}}},
                   {"usage", part.usage},
                   {"model", string_or_null(part.model)},
                   {"rung", string_or_null(part.rung)}});
    if (part.reasoning) out.back()["reasoning"] = {{"path", part.reasoning->path}, {"sha256", part.reasoning->sha256}};
  }
  return out;
}

json stage_to_json(const StageRecord& stage) {
  json artifacts = artifacts_to_json(stage.artifacts);
  json duration = stage.duration_s ? json(*stage.duration_s) : json(nullptr);
  return json{{"number", stage.number},
              {"name", stage.name},
              {"status", to_string(stage.status)},
              {"attempts", stage.attempts},
              {"started_at", string_or_null(stage.started_at)},
              {"finished_at", string_or_null(stage.finished_at)},
              {"duration_s", std::move(duration)},
              {"fingerprint", string_or_null(stage.fingerprint)},
              {"cached", stage.cached},
              {"artifacts", std::move(artifacts)},
              {"parts", parts_to_json(stage.parts)},
              {"usage", stage.usage},
              {"error", error_to_json(stage.error)},
              {"deadline_abandons", stage.deadline_abandons},
              {"warnings", stage.warnings}};
}

ArtifactRef read_artifact(const json& value, const std::string& where) {
  ObjectReader reader(value, where);
  ArtifactRef artifact{reader.string("path"), reader.sha256("sha256", false)};
  if (!is_safe_artifact_path(artifact.path)) {
    invalid(fmt::format("field {} is \"{}\", which is not a relative path inside the run directory",
                        reader.path("path"), artifact.path));
  }
  return artifact;
}

PartRecord read_part(const json& value, const std::string& where) {
  ObjectReader reader(value, where);
  PartRecord part;
  part.name = reader.string("name");
  if (part.name.empty()) invalid("field " + reader.path("name") + " must not be empty");
  part.fingerprint = reader.sha256("fingerprint", false);
  part.artifact = read_artifact(reader.object("artifact"), reader.path("artifact"));
  part.usage = reader.object("usage");
  // Parts saved before the provider profiles have neither.
  part.model = reader.optional_string("model");
  part.rung = reader.optional_string("rung");
  if (!part.rung.empty() && !llm::parse_rung(part.rung)) {
    invalid(fmt::format("field {} has unknown value \"{}\" (expected strict, schema, json_object or prompt)",
                        reader.path("rung"), part.rung));
  }
  if (const json* reasoning = reader.optional("reasoning")) part.reasoning = read_artifact(*reasoning, reader.path("reasoning"));
  return part;
}

StageRecord read_stage(const json& value, const std::string& where) {
  ObjectReader reader(value, where);
  StageRecord stage;
  stage.number = reader.integer("number", 1, k_stage_count);
  stage.name = reader.string("name");
  if (stage.name.empty()) invalid("field " + reader.path("name") + " must not be empty");
  stage.status = read_status(reader, "status", k_stage_statuses, parse_stage_status);
  stage.attempts = reader.integer("attempts", 0, std::numeric_limits<int>::max());
  stage.started_at = reader.optional_string("started_at");
  stage.finished_at = reader.optional_string("finished_at");
  stage.duration_s = reader.optional_seconds("duration_s");
  stage.fingerprint = reader.optional_string("fingerprint");
  const json& artifacts = reader.array("artifacts");
  for (std::size_t i = 0; i < artifacts.size(); ++i) {
    stage.artifacts.push_back(read_artifact(artifacts[i], fmt::format("{}[{}]", reader.path("artifacts"), i)));
  }
  stage.usage = reader.object("usage");
  // Checkpoints written before the stage cache and stage parts have neither.
  if (const json* cached = reader.optional("cached")) {
    if (!cached->is_boolean()) reader.wrong_type("cached", "true or false", *cached);
    stage.cached = cached->get<bool>();
  }
  if (const json* parts = reader.optional("parts")) {
    if (!parts->is_array()) reader.wrong_type("parts", "an array", *parts);
    for (std::size_t i = 0; i < parts->size(); ++i) {
      stage.parts.push_back(read_part((*parts)[i], fmt::format("{}[{}]", reader.path("parts"), i)));
    }
  }
  stage.error = read_error(reader, "error");
  stage.deadline_abandons = reader.integer("deadline_abandons", 0, std::numeric_limits<int>::max());
  if (const json* warnings = reader.optional("warnings")) {
    if (!warnings->is_array()) reader.wrong_type("warnings", "an array", *warnings);
    for (const auto& warning : *warnings) {
      if (!warning.is_string()) reader.wrong_type("warnings", "an array of strings", *warnings);
      stage.warnings.push_back(warning.get<std::string>());
    }
  }
  return stage;
}

InputRecord read_input(const ObjectReader& parent) {
  ObjectReader reader(parent.object("input"), parent.path("input"));
  InputRecord input;
  input.source = reader.string("source");
  input.sha256 = reader.sha256("sha256", true);
  input.bytes = reader.count("bytes");
  input.pages = reader.integer("pages", 0, std::numeric_limits<int>::max());
  input.chars = reader.count("chars");
  input.title = reader.optional_string("title");
  return input;
}

BrandRecord read_brand(const ObjectReader& parent) {
  ObjectReader reader(parent.object("brand"), parent.path("brand"));
  BrandRecord brand;
  brand.id = reader.string("id");
  brand.sha256 = reader.sha256("sha256", true);
  brand.company_name = reader.optional_string("company_name");
  return brand;
}

RunState read_state(const json& value) {
  ObjectReader reader(value, "");
  const json& version = reader.required("schema_version");
  if (!version.is_number_integer()) reader.wrong_type("schema_version", "an integer", version);
  const bool supported = version.is_number_unsigned() ? version.get<std::uint64_t>() == k_schema_version
                                                       : version.get<std::int64_t>() == k_schema_version;
  if (!supported) {
    throw Invalid{fmt::format("checkpoint schema version {} is not supported by this pipeline (expects {})",
                              util::dump_json(version), k_schema_version),
                  false};
  }

  RunState state;
  state.schema_version = k_schema_version;
  state.tool_version = reader.string("tool_version");
  state.run_id = reader.string("run_id");
  if (!is_valid_run_id(state.run_id)) invalid(fmt::format("field run_id is \"{}\", which is not a valid run id", state.run_id));
  state.status = read_status(reader, "status", k_run_statuses, parse_run_status);
  state.created_at = reader.string("created_at");
  state.updated_at = reader.string("updated_at");
  state.input = read_input(reader);
  state.brand = read_brand(reader);
  state.settings = reader.object("settings");
  // Checkpoints written before run-level files were recorded have no "files".
  if (const json* files = reader.optional("files")) {
    if (!files->is_array()) reader.wrong_type("files", "an array", *files);
    for (std::size_t i = 0; i < files->size(); ++i) {
      state.files.push_back(read_artifact((*files)[i], fmt::format("files[{}]", i)));
    }
  }

  const json& stages = reader.array("stages");
  if (stages.size() != k_stage_count) {
    invalid(fmt::format("field stages must hold exactly {} stages, not {}", k_stage_count, stages.size()));
  }
  for (std::size_t i = 0; i < stages.size(); ++i) {
    StageRecord stage = read_stage(stages[i], fmt::format("stages[{}]", i));
    if (stage.number != static_cast<int>(i) + 1) {
      invalid(fmt::format("field stages[{}].number is {}; stages must be numbered 1 to {} in order", i, stage.number,
                          k_stage_count));
    }
    state.stages.push_back(std::move(stage));
  }
  state.error = read_error(reader, "error");
  return state;
}

// Lowercase [a-z0-9-] words of `text`, joined by single dashes, at most `limit` characters.
std::string slug(std::string_view text, std::size_t limit) {
  std::string out;
  bool pending_dash = false;
  for (char raw : text) {
    char c = raw;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!keep) {
      pending_dash = !out.empty();
      continue;
    }
    if (pending_dash) {
      if (out.size() + 1 >= limit) break;
      out.push_back('-');
      pending_dash = false;
    }
    if (out.size() >= limit) break;
    out.push_back(c);
  }
  return out;
}

// The file name of a path or URL without directories, query and extension.
std::string_view document_stem(std::string_view name) {
  if (name.find("://") != std::string_view::npos) {
    name = name.substr(0, name.find_first_of("?#"));
  }
  while (!name.empty() && (name.back() == '/' || name.back() == '\\')) name.remove_suffix(1);
  const auto slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  const auto dot = name.rfind('.');
  if (dot != std::string_view::npos && dot > 0 && name.size() - dot <= 6) name = name.substr(0, dot);
  return name;
}

// Four hex digits that never repeat within a process (a counter from a random
// start) and are unlikely to collide between processes.
std::string short_suffix() {
  static std::atomic<std::uint32_t> counter{std::random_device{}()};
  return fmt::format("{:04x}", counter.fetch_add(1) & 0xffffu);
}

}  // namespace

std::string_view to_string(RunStatus status) {
  switch (status) {
    case RunStatus::created: return "created";
    case RunStatus::running: return "running";
    case RunStatus::incomplete: return "incomplete";
    case RunStatus::failed: return "failed";
    case RunStatus::completed: return "completed";
  }
  return "failed";
}

std::string_view to_string(StageStatus status) {
  switch (status) {
    case StageStatus::pending: return "pending";
    case StageStatus::running: return "running";
    case StageStatus::done: return "done";
    case StageStatus::failed: return "failed";
    case StageStatus::stale: return "stale";
  }
  return "failed";
}

std::optional<RunStatus> parse_run_status(std::string_view text) {
  for (auto status : k_run_statuses) {
    if (to_string(status) == text) return status;
  }
  return std::nullopt;
}

std::optional<StageStatus> parse_stage_status(std::string_view text) {
  for (auto status : k_stage_statuses) {
    if (to_string(status) == text) return status;
  }
  return std::nullopt;
}

StageRecord& RunState::stage(int number) {
  for (auto& record : stages) {
    if (record.number == number) return record;
  }
  throw std::out_of_range(fmt::format("run {} has no stage {}", run_id, number));
}

const StageRecord& RunState::stage(int number) const { return const_cast<RunState*>(this)->stage(number); }

nlohmann::json to_json(const RunState& state) {
  json stages = json::array();
  for (const auto& stage : state.stages) stages.push_back(stage_to_json(stage));
  return json{{"schema_version", state.schema_version},
              {"tool_version", state.tool_version},
              {"run_id", state.run_id},
              {"status", to_string(state.status)},
              {"created_at", state.created_at},
              {"updated_at", state.updated_at},
              {"input",
               {{"source", state.input.source},
                {"sha256", state.input.sha256},
                {"bytes", state.input.bytes},
                {"pages", state.input.pages},
                {"chars", state.input.chars},
                {"title", string_or_null(state.input.title)}}},
              {"brand",
               {{"id", state.brand.id},
                {"sha256", state.brand.sha256},
                {"company_name", string_or_null(state.brand.company_name)}}},
              {"settings", state.settings},
              {"files", artifacts_to_json(state.files)},
              {"stages", std::move(stages)},
              {"error", error_to_json(state.error)}};
}

util::Expected<RunState> from_json(const nlohmann::json& json) {
  try {
    return read_state(json);
  } catch (const Invalid& problem) {
    return util::fail(util::ErrorKind::bad_input,
                      problem.about_a_field ? "invalid checkpoint: " + problem.message : problem.message);
  } catch (const std::exception& error) {
    // Not expected, since every field is type-checked before it is read.
    return util::fail(util::ErrorKind::bad_input, std::string("invalid checkpoint: ") + error.what());
  }
}

util::Error invalid_run_id_error(const std::string& run_id) {
  return util::fail(util::ErrorKind::bad_input,
                    fmt::format("invalid run id \"{}\": an id is [a-z0-9][a-z0-9._-]*, without \"..\", at most 128 "
                                "characters",
                                run_id));
}

bool is_valid_run_id(std::string_view id) { return util::is_valid_identifier(id); }

bool is_safe_artifact_path(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.find('\0') != std::string_view::npos) return false;
  std::size_t start = 0;
  bool first = true;
  while (true) {
    const auto end = path.find('/', start);
    const auto part = path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (end == std::string_view::npos) {
      if (first && (part == "checkpoint.json" || part == "events.ndjson" || part == ".lock")) return false;
      return true;
    }
    first = false;
    start = end + 1;
  }
}

std::string generate_run_id(std::string_view document_name, std::string_view brand_id) {
  std::string id = slug(document_stem(document_name), k_max_slug_length);
  if (id.empty()) id = "run";
  const std::string brand = slug(brand_id, k_max_slug_length);
  if (!brand.empty()) id += "-" + brand;
  id += "-" + util::now_compact_stamp() + "-" + short_suffix();
  return id;
}

}  // namespace pipeline::checkpoints

#include "lib/queue/job.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "lib/util/error.hpp"

namespace pipeline::queue {
namespace {

constexpr std::array<std::string_view, 3> k_priority_names{"high", "normal", "low"};
constexpr std::array<std::string_view, 6> k_job_state_names{"queued", "running", "done", "failed", "dead", "cancelled"};
constexpr std::array<std::string_view, 2> k_job_kind_names{"run", "source"};

template <typename Enum, std::size_t N>
std::optional<Enum> parse_job_enum(const std::array<std::string_view, N>& names, std::string_view text) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

int job_count_field(const std::map<std::string, std::string>& fields, const std::string& name) {
  const auto found = fields.find(name);
  if (found == fields.end()) return 0;
  try {
    return std::stoi(found->second);
  } catch (const std::exception&) {
    return 0;
  }
}

std::string job_text_field(const std::map<std::string, std::string>& fields, const std::string& name) {
  const auto found = fields.find(name);
  return found == fields.end() ? std::string() : found->second;
}

util::Error job_field_error(const std::string& message) { return {util::ErrorKind::bad_input, message, "bad_job"}; }

}  // namespace

std::string_view to_string(Priority priority) { return k_priority_names[static_cast<std::size_t>(priority)]; }
std::string_view to_string(JobState state) { return k_job_state_names[static_cast<std::size_t>(state)]; }
std::string_view to_string(JobKind kind) { return k_job_kind_names[static_cast<std::size_t>(kind)]; }

std::optional<Priority> parse_priority(std::string_view text) { return parse_job_enum<Priority>(k_priority_names, text); }
std::optional<JobState> parse_job_state(std::string_view text) { return parse_job_enum<JobState>(k_job_state_names, text); }
std::optional<JobKind> parse_job_kind(std::string_view text) { return parse_job_enum<JobKind>(k_job_kind_names, text); }

const std::vector<Priority>& all_priorities() {
  static const std::vector<Priority> priorities{Priority::high, Priority::normal, Priority::low};
  return priorities;
}

bool is_final(JobState state) {
  return state == JobState::done || state == JobState::failed || state == JobState::dead ||
         state == JobState::cancelled;
}

std::vector<std::pair<std::string, std::string>> Job::to_fields() const {
  std::vector<std::pair<std::string, std::string>> fields{
      {"job_id", job_id},
      {"kind", std::string(to_string(kind))},
      {"run_id", run_id},
      {"priority", std::string(to_string(priority))},
      {"state", std::string(to_string(state))},
      {"attempts", std::to_string(attempts)},
      {"deaths", std::to_string(deaths)},
  };
  if (redo_from > 0) fields.emplace_back("redo_from", std::to_string(redo_from));
  if (ttl_s > 0) fields.emplace_back("ttl_s", std::to_string(ttl_s));
  const std::pair<const char*, const std::string*> optional_fields[] = {
      {"source", &source},         {"brand", &brand},           {"notify", &notify},
      {"error", &error},           {"worker", &worker},         {"entry", &entry},
      {"created_at", &created_at}, {"updated_at", &updated_at}, {"started_at", &started_at},
      {"finished_at", &finished_at},
  };
  for (const auto& [name, value] : optional_fields) {
    if (!value->empty()) fields.emplace_back(name, *value);
  }
  return fields;
}

util::Expected<Job> Job::from_fields(const std::map<std::string, std::string>& fields) {
  Job job;
  const std::string kind = job_text_field(fields, "kind");
  if (!kind.empty()) {
    const auto parsed = parse_job_kind(kind);
    if (!parsed) return job_field_error(fmt::format("unknown job kind \"{}\" (use run or source)", kind));
    job.kind = *parsed;
  }
  job.run_id = job_text_field(fields, "run_id");
  if (job.run_id.empty()) return job_field_error("a job needs a run_id");
  if (job.run_id.find(':') != std::string::npos || job.run_id.find('/') != std::string::npos) {
    return job_field_error(fmt::format("run id \"{}\" may not hold ':' or '/'", job.run_id));
  }
  job.job_id = job_text_field(fields, "job_id");
  if (job.job_id.empty()) job.job_id = job.run_id;
  job.source = job_text_field(fields, "source");
  job.brand = job_text_field(fields, "brand");
  if (const auto priority = job_text_field(fields, "priority"); !priority.empty()) {
    const auto parsed = parse_priority(priority);
    if (!parsed) return job_field_error(fmt::format("unknown priority \"{}\" (use high, normal or low)", priority));
    job.priority = *parsed;
  }
  if (const auto state = job_text_field(fields, "state"); !state.empty()) {
    const auto parsed = parse_job_state(state);
    if (!parsed) return job_field_error(fmt::format("unknown job state \"{}\"", state));
    job.state = *parsed;
  }
  // A refused entry's record (failed) holds no source to run.
  if (job.kind == JobKind::source && !is_final(job.state) && (job.source.empty() || job.brand.empty())) {
    return job_field_error(fmt::format("source job {} needs both source and brand", job.job_id));
  }
  job.notify = job_text_field(fields, "notify");
  job.attempts = job_count_field(fields, "attempts");
  job.deaths = job_count_field(fields, "deaths");
  job.redo_from = job_count_field(fields, "redo_from");
  if (job.redo_from > 5) return job_field_error(fmt::format("redo_from {} is not a stage (1-5)", job.redo_from));
  job.ttl_s = std::max(0, job_count_field(fields, "ttl_s"));
  job.error = job_text_field(fields, "error");
  job.worker = job_text_field(fields, "worker");
  job.entry = job_text_field(fields, "entry");
  job.created_at = job_text_field(fields, "created_at");
  job.updated_at = job_text_field(fields, "updated_at");
  job.started_at = job_text_field(fields, "started_at");
  job.finished_at = job_text_field(fields, "finished_at");
  return job;
}

std::map<std::string, std::string> fields_from_flat(const std::vector<std::string>& flat) {
  std::map<std::string, std::string> fields;
  for (std::size_t i = 0; i + 1 < flat.size(); i += 2) fields[flat[i]] = flat[i + 1];
  return fields;
}

}  // namespace pipeline::queue

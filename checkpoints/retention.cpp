#include "checkpoints/retention.hpp"

#include <charconv>
#include <ctime>

#include <fmt/format.h>

namespace pipeline::checkpoints {
namespace {

bool prune_status_matches(PruneStatus wanted, RunStatus status) {
  switch (wanted) {
    case PruneStatus::completed:
      return status == RunStatus::completed;
    case PruneStatus::failed:
      return status == RunStatus::failed;
    case PruneStatus::all:
      return true;
  }
  return false;
}

// The digits of text[at, at + count) as a number; nullopt unless all are digits.
std::optional<int> utc_time_field(std::string_view text, std::size_t at, std::size_t count) {
  if (at + count > text.size()) return std::nullopt;
  int value = 0;
  const char* first = text.data() + at;
  const auto [end, error] = std::from_chars(first, first + count, value);
  if (error != std::errc() || end != first + count) return std::nullopt;
  return value;
}

// When the run was last saved; its creation time when the checkpoint has no
// later one.
std::optional<std::chrono::system_clock::time_point> last_saved(const RunState& state) {
  if (auto updated = parse_utc_time(state.updated_at)) return updated;
  return parse_utc_time(state.created_at);
}

}  // namespace

std::string_view to_string(PruneStatus status) {
  switch (status) {
    case PruneStatus::completed:
      return "completed";
    case PruneStatus::failed:
      return "failed";
    case PruneStatus::all:
      return "all";
  }
  return "all";
}

std::optional<PruneStatus> parse_prune_status(std::string_view text) {
  for (auto status : {PruneStatus::completed, PruneStatus::failed, PruneStatus::all}) {
    if (to_string(status) == text) return status;
  }
  return std::nullopt;
}

std::optional<std::chrono::system_clock::time_point> parse_utc_time(std::string_view text) {
  // yyyy-mm-ddThh:mm:ss, then .mmm or nothing, then Z.
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  const auto year = utc_time_field(text, 0, 4), month = utc_time_field(text, 5, 2), day = utc_time_field(text, 8, 2);
  const auto hour = utc_time_field(text, 11, 2), minute = utc_time_field(text, 14, 2),
             second = utc_time_field(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  int milliseconds = 0;
  if (text.size() == 24 && text[19] == '.' && text[23] == 'Z') {
    const auto fraction = utc_time_field(text, 20, 3);
    if (!fraction) return std::nullopt;
    milliseconds = *fraction;
  } else if (text.size() != 20 || text[19] != 'Z') {
    return std::nullopt;
  }
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(*year), std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days(date) + std::chrono::hours(*hour) + std::chrono::minutes(*minute) +
         std::chrono::seconds(*second) + std::chrono::milliseconds(milliseconds);
}

util::Expected<PruneReport> prune_runs(RunStore& store, const PruneRules& rules,
                                       std::chrono::system_clock::time_point now) {
  PruneReport report;
  const auto cutoff = now - rules.older_than;
  // Whether a checkpoint is one prune takes: of the status, saved before the cutoff.
  const auto wanted = [&](const RunState& state) {
    const auto saved = last_saved(state);
    return prune_status_matches(rules.status, state.status) && saved && *saved <= cutoff;
  };
  for (const auto& run_id : store.list()) {
    PrunedRun run;
    run.run_id = run_id;
    auto state = store.read_checkpoint(run_id);
    if (!state) {
      // A run that vanished meanwhile (removed, expired) is no longer ours to report.
      if (!store.exists(run_id)) continue;
      run.reason = "its checkpoint cannot be read: " + state.error().message;
      report.kept.push_back(std::move(run));
      continue;
    }
    run.status = state->status;
    run.updated_at = state->updated_at;
    if (!prune_status_matches(rules.status, state->status)) continue;
    if (!last_saved(*state)) {
      run.reason = fmt::format("its checkpoint holds no time it was saved (\"{}\")", state->updated_at);
      report.kept.push_back(std::move(run));
      continue;
    }
    if (!wanted(*state)) continue;

    if (rules.dry_run) {
      if (auto holder = store.lock_holder(run_id)) {
        run.reason = "in use by " + *holder;
        report.kept.push_back(std::move(run));
        continue;
      }
      auto bytes = store.footprint(run_id);
      if (!bytes) return bytes.error();
      run.bytes = *bytes;
      report.bytes += run.bytes;
      report.removed.push_back(std::move(run));
      continue;
    }

    auto lock = store.lock(run_id);
    if (!lock) {
      if (lock.error().kind == util::ErrorKind::transient) return lock.error();
      if (lock.error().kind == util::ErrorKind::bad_input && !store.exists(run_id)) continue;
      run.reason = lock.error().message;
      report.kept.push_back(std::move(run));
      continue;
    }
    // Another process may have carried the run on between the first look and the lock.
    auto locked_state = store.read_checkpoint(run_id);
    if (!locked_state || !wanted(*locked_state)) continue;
    auto bytes = store.footprint(run_id);
    if (!bytes) return bytes.error();
    run.bytes = *bytes;
    if (auto removed = store.remove(run_id); !removed) {
      if (removed.error().kind == util::ErrorKind::transient) return removed.error();
      run.reason = removed.error().message;
      report.kept.push_back(std::move(run));
      continue;
    }
    report.bytes += run.bytes;
    report.removed.push_back(std::move(run));
  }
  return report;
}

}  // namespace pipeline::checkpoints

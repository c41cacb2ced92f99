#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoints/run_store.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::checkpoints {

// Which runs `pipeline prune --status` takes: completed, failed, or all
// (any status, an interrupted or never finished run included).
enum class PruneStatus { completed, failed, all };

std::string_view to_string(PruneStatus status);
// The choice named by its lowercase string; nullopt for an unknown name.
std::optional<PruneStatus> parse_prune_status(std::string_view text);

// What prune_runs removes.
struct PruneRules {
  // Runs last saved at least this long ago (the checkpoint's updated_at).
  std::chrono::milliseconds older_than{0};
  PruneStatus status = PruneStatus::all;
  // Only say what would go: take no lock and delete nothing.
  bool dry_run = false;
};

// One run prune_runs looked at.
struct PrunedRun {
  std::string run_id;
  RunStatus status = RunStatus::created;
  std::string updated_at;
  std::uint64_t bytes = 0;  // what removing it frees (RunStore::footprint)
  std::string reason;       // why it was kept; empty for a removed run
};

// What prune_runs did, or with dry_run would do.
struct PruneReport {
  std::vector<PrunedRun> removed;  // with dry_run: the runs that would go
  // Runs old enough and of the status asked for that stay: in use (locked,
  // leased, with a queued or running job), or unreadable, or not removable.
  std::vector<PrunedRun> kept;
  std::uint64_t bytes = 0;  // freed by the removed runs
};

// Removes from `store` the runs that match `rules`, as of `now`, one at a
// time under its lock, each whole (RunStore::remove). A run another process
// holds (its lock, its Redis lease) is never removed, nor one whose
// checkpoint cannot be read. A dry run reads only, so it cannot tell a job
// queued for a run (Redis) from none: the real prune may keep more.
util::Expected<PruneReport> prune_runs(RunStore& store, const PruneRules& rules,
                                       std::chrono::system_clock::time_point now);

// A UTC time as checkpoints write it (util::now_iso8601:
// 2026-12-07T19:35:06.123Z, milliseconds optional); nullopt otherwise.
std::optional<std::chrono::system_clock::time_point> parse_utc_time(std::string_view text);

}  // namespace pipeline::checkpoints

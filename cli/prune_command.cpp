// `pipeline prune`: removes old runs from the store and old entries from the
// stage cache, or with --dry-run shows what would go.

#include <chrono>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "checkpoints/retention.hpp"
#include "cli/app.hpp"
#include "cli/run_support.hpp"
#include "lib/util/error.hpp"
#include "lib/util/time.hpp"

namespace pipeline::cli {
namespace {

using util::ErrorKind;
using util::FatalError;

struct PruneArgs {
  std::string older_than;
  std::string status = "all";
  std::string cache_older_than;
  bool dry_run = false;
};

// 1536 -> "1.5 KiB": sizes for people, in binary units as du -h gives them.
std::string prune_size(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, units[unit]);
}

std::chrono::milliseconds prune_age(const std::string& text, const std::string& option) {
  const auto age = util::parse_duration(text);
  if (!age) throw FatalError(ErrorKind::usage, fmt::format("{} takes an age such as 30d or 12h, not \"{}\"", option, text));
  return *age;
}

nlohmann::json pruned_run_json(const checkpoints::PrunedRun& run) {
  nlohmann::json json{{"run_id", run.run_id},
                      {"status", checkpoints::to_string(run.status)},
                      {"updated_at", run.updated_at},
                      {"bytes", run.bytes}};
  if (!run.reason.empty()) json["reason"] = run.reason;
  return json;
}

std::string prune_plural(std::size_t count, const char* one, const char* many) {
  return fmt::format("{} {}", count, count == 1 ? one : many);
}

void run_prune_command(const CLI::App& app, const GlobalOptions& options, const PruneArgs& args) {
  if (args.older_than.empty() && args.cache_older_than.empty()) {
    throw FatalError(ErrorKind::usage, "prune needs --older-than (runs), --cache-older-than (stage cache), or both");
  }
  const auto status = checkpoints::parse_prune_status(args.status);
  if (!status) {
    throw FatalError(ErrorKind::usage, fmt::format("--status is completed, failed or all, not \"{}\"", args.status));
  }
  const auto now = std::chrono::system_clock::now();
  nlohmann::json json{{"dry_run", args.dry_run}, {"runs", nullptr}, {"stage_cache", nullptr}};
  const std::string verb = args.dry_run ? "would remove" : "removed";
  std::string text;

  if (!args.older_than.empty()) {
    checkpoints::PruneRules rules;
    rules.older_than = prune_age(args.older_than, "--older-than");
    rules.status = *status;
    rules.dry_run = args.dry_run;
    auto store = open_store(options);
    const auto report = checkpoints::prune_runs(*store, rules, now).value_or_throw();
    nlohmann::json removed = nlohmann::json::array(), kept = nlohmann::json::array();
    text += fmt::format("{} {} ({}) from {}\n", verb, prune_plural(report.removed.size(), "run", "runs"),
                        prune_size(report.bytes), store_place(options));
    for (const auto& run : report.removed) {
      removed.push_back(pruned_run_json(run));
      text += fmt::format("  {}  {}  {}  {}\n", run.run_id, checkpoints::to_string(run.status), run.updated_at,
                          prune_size(run.bytes));
    }
    if (!report.kept.empty()) text += fmt::format("kept {}:\n", prune_plural(report.kept.size(), "run", "runs"));
    for (const auto& run : report.kept) {
      kept.push_back(pruned_run_json(run));
      text += fmt::format("  {}  {}\n", run.run_id, run.reason);
    }
    json["runs"] = {{"removed", removed}, {"kept", kept}, {"bytes", report.bytes}};
  }

  if (!args.cache_older_than.empty()) {
    const auto cutoff = now - prune_age(args.cache_older_than, "--cache-older-than");
    auto settings = run_settings(app, options);
    settings.cache_enabled = true;
    auto cache = service::open_stage_cache(settings);
    const auto report = cache->prune(cutoff, args.dry_run).value_or_throw();
    text += fmt::format("{} {} ({}) from the stage cache {}\n", verb,
                        prune_plural(report.entries, "entry", "entries"), prune_size(report.bytes), cache->location());
    json["stage_cache"] = {{"location", cache->location()}, {"entries", report.entries}, {"bytes", report.bytes}};
  }

  if (options.json) print_json(json);
  print_human(options, text);
}

}  // namespace

void register_prune_command(CLI::App& app, GlobalOptions& options) {
  auto args = std::make_shared<PruneArgs>();
  auto* command = app.add_subcommand("prune", "Remove old runs and stage cache entries; --dry-run shows what would go");
  command->add_option("--older-than", args->older_than,
                      "Remove runs last saved this long ago or longer (e.g. 30d, 12h)")
      ->type_name("AGE");
  command->add_option("--status", args->status,
                      "Which of them: completed, failed, or all (default: any status; a run in use always stays)")
      ->check(CLI::IsMember({"completed", "failed", "all"}));
  command->add_option("--cache-older-than", args->cache_older_than,
                      "Remove stage cache entries made this long ago or longer (the cache --cache-dir or the Redis "
                      "store names)")
      ->type_name("AGE");
  command->add_flag("--dry-run", args->dry_run, "Only show what would go and the space it would free");
  command->footer(
      "A run another process holds (its lock, its Redis lease, a queued or running job) is never removed.\n"
      "Each run goes whole: checkpoint, files, events and, in Redis, its finished job. See docs/checkpoint.md.\n\n"
      "Example: pipeline prune --older-than 30d --status completed --cache-older-than 90d --dry-run");
  command->callback([&app, &options, args] { run_prune_command(app, options, *args); });
}

}  // namespace pipeline::cli

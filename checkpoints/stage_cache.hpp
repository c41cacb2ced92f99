#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "lib/util/expected.hpp"

namespace pipeline::checkpoints {

// A finished stage output kept for reuse, with where it came from.
struct CachedStage {
  std::string fingerprint;  // the stage fingerprint it answers (64 hex digits)
  std::string output;       // the stage's output JSON, exactly as the run wrote it
  std::string sha256;       // of `output`
  std::string stage;        // the stage's name, for people
  std::string run_id;       // the run that paid for it
  std::string created_at;
  nlohmann::json usage = nlohmann::json::object();  // what it cost then (llm::Usage::to_json)
};

// What StageCache::prune removed, or with dry_run would remove.
struct CachePruneReport {
  std::size_t entries = 0;
  std::uint64_t bytes = 0;  // disk blocks of a file, MEMORY USAGE in Redis
};

// Stage outputs by stage fingerprint, shared by every run that uses the same
// cache: a stage whose fingerprint is found is not asked of the model again.
// Backends: a folder (make_file_stage_cache), Redis (make_redis_stage_cache,
// shared by every worker) and memory (make_memory_stage_cache, for a batch
// run with --no-cache, and for tests). Thread-safe.
class StageCache {
 public:
  virtual ~StageCache() = default;
  // The entry for `fingerprint`, or nullopt when there is none or when it
  // fails its check (the output's SHA-256 or the fingerprint differ from the
  // recorded ones; such an entry is treated as missing and is overwritten by
  // the next put).
  virtual std::optional<CachedStage> find(const std::string& fingerprint) const = 0;
  // Stores an entry (sha256 is computed here), replacing any entry for the
  // same fingerprint; crash-safe: a reader sees the old entry or the new one.
  virtual util::Expected<void> put(const CachedStage& entry) = 0;
  // Removes the entries made before `cutoff` (their created_at) and the
  // damaged ones, which no find() would return; with dry_run only counts
  // them. An entry put again meanwhile is kept.
  virtual util::Expected<CachePruneReport> prune(std::chrono::system_clock::time_point cutoff, bool dry_run) = 0;
  // A place name for messages, e.g. the folder.
  virtual std::string location() const = 0;
};

// True for 64 lowercase hex digits, the form of every cache key.
bool is_stage_fingerprint(const std::string& text);
// The entry as put() stores it: failed unless its fingerprint is one, and
// with the SHA-256 of its output.
util::Expected<CachedStage> sealed_stage_cache_entry(const CachedStage& entry);
// True when the entry was made before `cutoff`, or its time cannot be read.
bool stage_cache_entry_is_older(const CachedStage& entry, std::chrono::system_clock::time_point cutoff);
// An entry as every backend stores it: JSON with the output and its origin.
nlohmann::json stage_cache_entry_json(const CachedStage& entry);
// The entry in a stored text, when it is whole and answers `fingerprint`
// (its output's SHA-256 is the recorded one).
std::optional<CachedStage> parse_stage_cache_entry(const std::string& text, const std::string& fingerprint);

// Entries as <dir>/<first two hex digits>/<fingerprint>.json; the folder is
// made on the first put. An unwritable folder is an error of put, never of find.
std::unique_ptr<StageCache> make_file_stage_cache(const std::filesystem::path& dir);
std::unique_ptr<StageCache> make_memory_stage_cache();

// The cache folder when neither --cache-dir nor PIPELINE_CACHE_DIR names one:
// $XDG_CACHE_HOME/pipeline, else $HOME/.cache/pipeline, else ./.pipeline-cache.
std::filesystem::path default_stage_cache_dir();

}  // namespace pipeline::checkpoints

#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoints/batch_manifest.hpp"
#include "checkpoints/run_state.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::checkpoints {

// Held while a process works on a run; released by the destructor.
class RunLock {
 public:
  virtual ~RunLock() = default;
  // False once the lock is no longer this process's: a lease that expired
  // or was taken over (see RedisRunLock). A file lock is held until released.
  virtual bool held() const { return true; }
};

// Where runs live: their checkpoints and artifacts. Backends: folders
// (FileRunStore) and Redis (RedisRunStore); open_run_store() in
// checkpoints/open_run_store.hpp picks one by URL.
class RunStore {
 public:
  virtual ~RunStore() = default;

  // Makes an empty run and returns its lock, held, so that the creator keeps
  // the run to itself until it has saved the first checkpoint and for as long
  // as it goes on working. A run with a checkpoint is bad_input ("exists
  // already"). A run without one was left by a creation that was killed: it is
  // busy while its creator still holds the lock, and otherwise emptied and
  // reused.
  virtual util::Expected<std::unique_ptr<RunLock>> create(const std::string& run_id) = 0;
  // True when the run has a checkpoint; a run still being created does not exist yet.
  virtual bool exists(const std::string& run_id) const = 0;
  // Every run id, sorted.
  virtual std::vector<std::string> list() const = 0;

  // Loads the checkpoint and verifies the run's files and every artifact of a
  // done stage against their recorded SHA-256. With redo_from 1 to 5 the
  // caller is about to redo the stages from that number on, so their
  // artifacts and the reports (which any redo rewrites) are not verified; the
  // input files always are. Not found, unparsable, an unknown schema version
  // and a hash mismatch are bad_input; nothing is changed on disk.
  virtual util::Expected<RunState> load(const std::string& run_id, int redo_from = 0) const = 0;
  // The checkpoint as load() reads it, without verifying the run's files:
  // cheap, for showing a run (status, stages, usage), never for carrying it on.
  virtual util::Expected<RunState> read_checkpoint(const std::string& run_id) const = 0;
  // Saves the checkpoint atomically: a kill at any instant leaves the old or
  // the new one, whole. It reaches the disk itself at the next flush.
  virtual util::Expected<void> save(const RunState& state) = 0;
  // Makes every save, artifact and event of the run so far durable against a
  // power loss or an OS crash. A killed process never needs it: saves and
  // writes are atomic without it. The chain flushes once per finished stage,
  // before the save that marks it done, so a durable checkpoint never names
  // a done stage whose files could be lost.
  virtual util::Expected<void> flush(const std::string& run_id) = 0;

  // Writes a file of the run atomically (as save does) and returns its reference.
  virtual util::Expected<ArtifactRef> write_artifact(const std::string& run_id, const std::string& path,
                                                     std::string_view content) = 0;
  virtual util::Expected<std::string> read_artifact(const std::string& run_id, const std::string& path) const = 0;

  // Appends one line to the run's append-only event log; a kill loses no
  // complete line.
  virtual util::Expected<void> append_event(const std::string& run_id, std::string_view line) = 0;
  // The complete lines of the run's event log from the `first` (0-based) on,
  // in the order they were appended; a line still being written is left out.
  // Empty for a run without events; bad_input for an invalid run id.
  virtual util::Expected<std::vector<std::string>> read_events(const std::string& run_id,
                                                               std::size_t first = 0) const = 0;

  // Takes the run's exclusive lock without waiting; busy, naming the holder
  // (pid and host), when another process has it.
  virtual util::Expected<std::unique_ptr<RunLock>> lock(const std::string& run_id) = 0;
  // "pid N on host H" while a live process holds the run's lock, else nullopt.
  // Only reads: it never takes the lock, even briefly, so it cannot make a
  // process that is about to take it fail with busy. A holder on another host
  // cannot be checked and is reported as holding it.
  virtual std::optional<std::string> lock_holder(const std::string& run_id) const = 0;

  // The bytes the run takes in the store, which removing it frees: disk
  // blocks of a run folder's files, Redis's MEMORY USAGE of a run's keys.
  virtual util::Expected<std::uint64_t> footprint(const std::string& run_id) const = 0;
  // Deletes the whole run at once (checkpoint, files, events; in Redis also
  // its finished job), never a part alone. The caller holds the run's lock,
  // taken with lock() from this store. busy when the run has a job that is
  // queued or running (Redis); bad_input when the run does not exist.
  virtual util::Expected<void> remove(const std::string& run_id) = 0;

  // A folder path for humans (e.g. the run directory), for messages.
  virtual std::string location(const std::string& run_id) const = 0;

  // Batches: a manifest per batch, beside the runs, in the same namespace of
  // ids. save_batch is crash-safe; load_batch is bad_input for an unknown id
  // or a manifest that does not parse.
  virtual util::Expected<void> save_batch(const BatchManifest& manifest) = 0;
  virtual util::Expected<BatchManifest> load_batch(const std::string& batch_id) const = 0;
  virtual bool batch_exists(const std::string& batch_id) const = 0;

  // Brand profiles kept in the store (`pipeline brands push`), so that every
  // machine using it finds them by id: the profile's JSON text. find_brand
  // gives nullopt when the store has no brand of that id.
  virtual util::Expected<void> save_brand(const std::string& brand_id, std::string_view json) = 0;
  virtual util::Expected<std::optional<std::string>> find_brand(const std::string& brand_id) const = 0;
  // The ids of the brands kept in the store, sorted.
  virtual std::vector<std::string> list_brands() const = 0;
};

// Runs as folders under a root: <root>/<run_id>/checkpoint.json and artifacts.
std::unique_ptr<RunStore> make_file_run_store(const std::filesystem::path& root);

}  // namespace pipeline::checkpoints

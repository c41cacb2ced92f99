#pragma once

#include <filesystem>
#include <memory>

#include "checkpoints/run_store.hpp"

namespace pipeline::checkpoints {

// The file names a run folder holds besides its artifacts.
inline constexpr const char* k_checkpoint_file = "checkpoint.json";
inline constexpr const char* k_events_file = "events.ndjson";
inline constexpr const char* k_lock_file = ".lock";

// make_file_run_store (declared in run_store.hpp) builds this store. Layout:
// <root>/<run_id>/checkpoint.json, events.ndjson, .lock and the artifacts at
// their relative paths. Checkpoints and artifacts are replaced atomically;
// the lock is an flock(2) on .lock, released by the kernel when its holder
// dies. Taking the lock also removes temporary files that a killed writer
// left behind. A folder without checkpoint.json is a run being created (its
// creator holds the lock) or one whose creation was killed.
class FileRunStore : public RunStore {
 public:
  explicit FileRunStore(std::filesystem::path root);

  util::Expected<std::unique_ptr<RunLock>> create(const std::string& run_id) override;
  bool exists(const std::string& run_id) const override;
  std::vector<std::string> list() const override;
  util::Expected<RunState> load(const std::string& run_id, int redo_from = 0) const override;
  util::Expected<RunState> read_checkpoint(const std::string& run_id) const override;
  util::Expected<void> save(const RunState& state) override;
  util::Expected<void> flush(const std::string& run_id) override;
  util::Expected<ArtifactRef> write_artifact(const std::string& run_id, const std::string& path,
                                             std::string_view content) override;
  util::Expected<std::string> read_artifact(const std::string& run_id, const std::string& path) const override;
  util::Expected<void> append_event(const std::string& run_id, std::string_view line) override;
  util::Expected<std::vector<std::string>> read_events(const std::string& run_id, std::size_t first = 0) const override;
  util::Expected<std::unique_ptr<RunLock>> lock(const std::string& run_id) override;
  std::optional<std::string> lock_holder(const std::string& run_id) const override;
  util::Expected<std::uint64_t> footprint(const std::string& run_id) const override;
  util::Expected<void> remove(const std::string& run_id) override;
  std::string location(const std::string& run_id) const override;
  util::Expected<void> save_batch(const BatchManifest& manifest) override;
  util::Expected<BatchManifest> load_batch(const std::string& batch_id) const override;
  bool batch_exists(const std::string& batch_id) const override;
  // Brands pushed to the store live in <root>/.brands/<id>.json.
  util::Expected<void> save_brand(const std::string& brand_id, std::string_view json) override;
  util::Expected<std::optional<std::string>> find_brand(const std::string& brand_id) const override;
  std::vector<std::string> list_brands() const override;

 private:
  std::filesystem::path run_dir(const std::string& run_id) const { return m_root / run_id; }
  // Manifests live in a folder whose name is no valid run id.
  std::filesystem::path batch_path(const std::string& batch_id) const { return m_root / ".batches" / (batch_id + ".json"); }
  std::filesystem::path brand_path(const std::string& brand_id) const { return m_root / ".brands" / (brand_id + ".json"); }
  // The run's folder, or bad_input when the id is invalid or the run does not exist.
  util::Expected<std::filesystem::path> existing_run_dir(const std::string& run_id) const;

  std::filesystem::path m_root;
};

}  // namespace pipeline::checkpoints

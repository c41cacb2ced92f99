#include "checkpoints/stage_cache.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <system_error>

#include <fmt/format.h>

#include "checkpoints/retention.hpp"
#include "lib/util/file_io.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/log.hpp"
#include "lib/util/sha256.hpp"

namespace pipeline::checkpoints {
namespace {

class FileStageCache final : public StageCache {
 public:
  explicit FileStageCache(std::filesystem::path dir) : m_dir(std::move(dir)) {}

  std::optional<CachedStage> find(const std::string& fingerprint) const override {
    if (!is_stage_fingerprint(fingerprint)) return std::nullopt;
    std::error_code ignored;
    const auto path = entry_path(fingerprint);
    if (!std::filesystem::exists(path, ignored)) return std::nullopt;
    auto text = util::read_file(path);
    if (!text) return std::nullopt;
    auto entry = parse_stage_cache_entry(*text, fingerprint);
    if (!entry) util::log_verbose(fmt::format("ignoring the damaged stage cache entry {}", path.string()));
    return entry;
  }

  util::Expected<void> put(const CachedStage& entry) override {
    auto stored = sealed_stage_cache_entry(entry);
    if (!stored) return stored.error();
    const auto path = entry_path(entry.fingerprint);
    std::error_code error;
    std::filesystem::create_directories(path.parent_path(), error);
    if (error) {
      return util::fail(util::ErrorKind::bad_input, fmt::format("cannot make the stage cache folder {}: {}",
                                                                path.parent_path().string(), error.message()));
    }
    return util::write_file_atomic(path, util::dump_json(stage_cache_entry_json(*stored), 1) + "\n");
  }

  util::Expected<CachePruneReport> prune(std::chrono::system_clock::time_point cutoff, bool dry_run) override {
    CachePruneReport report;
    std::error_code ec;
    if (!std::filesystem::is_directory(m_dir, ec)) return report;
    for (std::filesystem::directory_iterator shard(m_dir, ec), end; !ec && shard != end; shard.increment(ec)) {
      const std::string prefix = shard->path().filename().string();
      std::error_code shard_ec;
      if (prefix.size() != 2 || !shard->is_directory(shard_ec)) continue;
      for (std::filesystem::directory_iterator it(shard->path(), shard_ec); !shard_ec && it != end;
           it.increment(shard_ec)) {
        const auto path = it->path();
        const std::string fingerprint = path.stem().string();
        if (path.extension() != ".json" || !is_stage_fingerprint(fingerprint) || fingerprint.substr(0, 2) != prefix) {
          continue;
        }
        struct stat before {};
        if (::lstat(path.c_str(), &before) != 0 || !S_ISREG(before.st_mode)) continue;
        auto text = util::read_file(path);
        if (!text) continue;
        const auto entry = parse_stage_cache_entry(*text, fingerprint);
        if (entry && !stage_cache_entry_is_older(*entry, cutoff)) continue;
        if (!dry_run) {
          // A put replaces the file by a rename: one made since the read has a new inode, and stays.
          struct stat now {};
          if (::lstat(path.c_str(), &now) != 0 || now.st_ino != before.st_ino) continue;
          std::error_code remove_ec;
          if (!std::filesystem::remove(path, remove_ec)) continue;
        }
        report.entries += 1;
        report.bytes += static_cast<std::uint64_t>(before.st_blocks) * 512;
      }
    }
    if (ec) return util::fail(util::ErrorKind::failed, fmt::format("cannot read {}: {}", m_dir.string(), ec.message()));
    return report;
  }

  std::string location() const override { return m_dir.string(); }

 private:
  std::filesystem::path entry_path(const std::string& fingerprint) const {
    return m_dir / fingerprint.substr(0, 2) / (fingerprint + ".json");
  }

  std::filesystem::path m_dir;
};

class MemoryStageCache final : public StageCache {
 public:
  std::optional<CachedStage> find(const std::string& fingerprint) const override {
    std::lock_guard lock(m_mutex);
    auto it = m_entries.find(fingerprint);
    if (it == m_entries.end()) return std::nullopt;
    return parse_stage_cache_entry(it->second, fingerprint);
  }

  util::Expected<void> put(const CachedStage& entry) override {
    auto stored = sealed_stage_cache_entry(entry);
    if (!stored) return stored.error();
    std::lock_guard lock(m_mutex);
    m_entries[entry.fingerprint] = util::dump_json(stage_cache_entry_json(*stored));
    return {};
  }

  util::Expected<CachePruneReport> prune(std::chrono::system_clock::time_point cutoff, bool dry_run) override {
    CachePruneReport report;
    std::lock_guard lock(m_mutex);
    for (auto it = m_entries.begin(); it != m_entries.end();) {
      const auto entry = parse_stage_cache_entry(it->second, it->first);
      if (entry && !stage_cache_entry_is_older(*entry, cutoff)) {
        ++it;
        continue;
      }
      report.entries += 1;
      report.bytes += it->second.size();
      it = dry_run ? std::next(it) : m_entries.erase(it);
    }
    return report;
  }

  std::string location() const override { return "memory"; }

 private:
  mutable std::mutex m_mutex;
  // Kept as text, so that a find checks and copies exactly what a file would hold.
  std::map<std::string, std::string> m_entries;
};

}  // namespace

bool is_stage_fingerprint(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

util::Expected<CachedStage> sealed_stage_cache_entry(const CachedStage& entry) {
  if (!is_stage_fingerprint(entry.fingerprint)) {
    return util::fail(util::ErrorKind::failed, "a stage cache key must be 64 hex digits");
  }
  CachedStage stored = entry;
  stored.sha256 = util::sha256_hex(entry.output);
  return stored;
}

bool stage_cache_entry_is_older(const CachedStage& entry, std::chrono::system_clock::time_point cutoff) {
  const auto created = parse_utc_time(entry.created_at);
  return !created || *created < cutoff;
}

nlohmann::json stage_cache_entry_json(const CachedStage& entry) {
  return {{"fingerprint", entry.fingerprint}, {"sha256", entry.sha256},   {"stage", entry.stage},
          {"run_id", entry.run_id},           {"created_at", entry.created_at}, {"usage", entry.usage},
          {"output", entry.output}};
}

std::optional<CachedStage> parse_stage_cache_entry(const std::string& text, const std::string& fingerprint) {
  const auto json = util::parse_json_or_discarded(text);
  if (!json.is_object()) return std::nullopt;
  CachedStage entry;
  try {
    entry.fingerprint = json.at("fingerprint").get<std::string>();
    entry.sha256 = json.at("sha256").get<std::string>();
    entry.output = json.at("output").get<std::string>();
    entry.stage = json.value("stage", "");
    entry.run_id = json.value("run_id", "");
    entry.created_at = json.value("created_at", "");
    entry.usage = json.value("usage", nlohmann::json::object());
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  if (entry.fingerprint != fingerprint || entry.sha256 != util::sha256_hex(entry.output)) return std::nullopt;
  return entry;
}

std::unique_ptr<StageCache> make_file_stage_cache(const std::filesystem::path& dir) {
  return std::make_unique<FileStageCache>(dir);
}

std::unique_ptr<StageCache> make_memory_stage_cache() { return std::make_unique<MemoryStageCache>(); }

std::filesystem::path default_stage_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/') return std::filesystem::path(xdg) / "pipeline";
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache" / "pipeline";
  return ".pipeline-cache";
}

}  // namespace pipeline::checkpoints

#include "checkpoints/redis_stage_cache.hpp"

#include <algorithm>
#include <mutex>

#include <fmt/format.h>

#include "checkpoints/retention.hpp"
#include "lib/redis/chunked_value.hpp"
#include "lib/redis/redis_fence.hpp"
#include "lib/redis/redis_script.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/log.hpp"

namespace pipeline::checkpoints {
namespace {

// KEYS: an entry. ARGV: the record read. Deletes the entry and its chunks
// unless a put replaced it since. 1 when deleted.
const redis::Script& drop_cache_entry_script() {
  static const redis::Script script(redis::lua_drop_chunks() + R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
drop_chunks(ARGV[1])
redis.call('DEL', KEYS[1])
return 1
)lua");
  return script;
}

// KEYS: an entry. The bytes Redis spends on it and its chunks.
const redis::Script& cache_entry_footprint_script() {
  static const redis::Script script(fmt::format(R"lua(
local record = redis.call('GET', KEYS[1])
if not record then return 0 end
local total = redis.call('MEMORY', 'USAGE', KEYS[1], 'SAMPLES', 0) or 0
local count, prefix = string.match(record, '^%*(%d+) %d+ %x+ (.+)$')
if count and tonumber(count) <= {} then
  for i = 0, tonumber(count) - 1 do total = total + (redis.call('MEMORY', 'USAGE', prefix .. i, 'SAMPLES', 0) or 0) end
end
return total
)lua", redis::k_max_chunks));
  return script;
}

class RedisStageCache final : public StageCache {
 public:
  RedisStageCache(redis::ConnectOptions connect, const std::string& key_prefix)
      : m_keys(key_prefix, connect.url.cluster), m_connection(std::move(connect)) {}

  std::optional<CachedStage> find(const std::string& fingerprint) const override {
    if (!is_stage_fingerprint(fingerprint)) return std::nullopt;
    std::lock_guard lock(m_mutex);
    auto text = redis::get_value(m_connection, slot(fingerprint));
    if (!text) {
      util::log_verbose(fmt::format("stage cache: {}; taken as a miss", text.error().message));
      return std::nullopt;
    }
    if (!*text) return std::nullopt;
    auto entry = parse_stage_cache_entry(**text, fingerprint);
    if (!entry) util::log_verbose(fmt::format("ignoring the damaged stage cache entry {}", slot(fingerprint).key));
    return entry;
  }

  util::Expected<void> put(const CachedStage& entry) override {
    auto stored = sealed_stage_cache_entry(entry);
    if (!stored) return stored.error();
    const std::string text = util::dump_json(stage_cache_entry_json(*stored), 1) + "\n";
    std::lock_guard lock(m_mutex);
    return redis::put_value(m_connection, slot(entry.fingerprint), text, {},
                            "keeping the " + entry.stage + " stage in the stage cache");
  }

  util::Expected<CachePruneReport> prune(std::chrono::system_clock::time_point cutoff, bool dry_run) override {
    CachePruneReport report;
    const std::string what = "pruning the stage cache";
    const std::string pattern = m_keys.stage_cache("*");
    const std::string sample(64, '0');
    const std::size_t offset = m_keys.stage_cache(sample).find(sample);
    std::lock_guard lock(m_mutex);
    // In a cluster, the entries of every master.
    auto keys = m_connection.scan_keys(pattern, 500);
    if (!keys) return util::fail(keys.error().kind, what + ": " + keys.error().message, keys.error().code);
    for (const auto& key : *keys) {
      // Chunks match the pattern too; an entry's key holds 64 hex digits and ends there.
      if (key.size() < offset + 64) continue;
      const std::string fingerprint = key.substr(offset, 64);
      if (!is_stage_fingerprint(fingerprint) || key != m_keys.stage_cache(fingerprint)) continue;
      auto removed = prune_entry(fingerprint, cutoff, dry_run);
      if (!removed) return removed.error();
      if (!*removed) continue;
      report.entries += 1;
      report.bytes += **removed;
    }
    return report;
  }

  std::string location() const override { return m_connection.where() + " (" + m_keys.prefix() + "cache:)"; }

 private:
  redis::ValueSlot slot(const std::string& fingerprint) const {
    return {m_keys.stage_cache(fingerprint), "", m_keys.stage_cache_chunks(fingerprint)};
  }

  // The bytes an old or damaged entry frees, removed unless dry_run; nullopt
  // for an entry that stays. m_mutex held.
  util::Expected<std::optional<std::uint64_t>> prune_entry(const std::string& fingerprint,
                                                          std::chrono::system_clock::time_point cutoff, bool dry_run) {
    const auto key = m_keys.stage_cache(fingerprint);
    const std::string what = "pruning the stage cache";
    auto record = redis::expect_success(m_connection.command({"GET", key}), what, m_connection.where());
    if (!record) return record.error();
    if (!record->is_string()) return std::optional<std::uint64_t>();
    auto text = redis::get_value(m_connection, slot(fingerprint));
    // A damaged entry (chunks gone) is as good as none: it goes.
    if (text && *text) {
      const auto entry = parse_stage_cache_entry(**text, fingerprint);
      if (entry && !stage_cache_entry_is_older(*entry, cutoff)) return std::optional<std::uint64_t>();
    } else if (text) {
      return std::optional<std::uint64_t>();
    } else if (text.error().kind == util::ErrorKind::transient) {
      return text.error();
    }
    auto bytes = cache_entry_footprint_script().run(m_connection, {key}, {});
    if (!bytes) return bytes.error();
    if (bytes->is_error()) return redis::script_error(*bytes, what, m_connection.where());
    if (!dry_run) {
      auto dropped = drop_cache_entry_script().run(m_connection, {key}, {record->text});
      if (!dropped) return dropped.error();
      if (dropped->is_error()) return redis::script_error(*dropped, what, m_connection.where());
      if (dropped->integer == 0) return std::optional<std::uint64_t>();
    }
    return std::optional<std::uint64_t>(static_cast<std::uint64_t>(std::max(0LL, bytes->integer)));
  }

  RedisKeys m_keys;
  mutable std::mutex m_mutex;
  mutable redis::Connection m_connection;
};

}  // namespace

std::unique_ptr<StageCache> make_redis_stage_cache(redis::ConnectOptions connect, const std::string& key_prefix) {
  return std::make_unique<RedisStageCache>(std::move(connect), key_prefix);
}

}  // namespace pipeline::checkpoints

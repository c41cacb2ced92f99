#include "checkpoints/redis_stage_cache.hpp"

#include <mutex>

#include <fmt/format.h>

#include "lib/redis/chunked_value.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/log.hpp"

namespace pipeline::checkpoints {
namespace {

class RedisStageCache final : public StageCache {
 public:
  RedisStageCache(redis::ConnectOptions connect, const std::string& key_prefix)
      : m_keys(key_prefix), m_connection(std::move(connect)) {}

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

  std::string location() const override { return m_connection.where() + " (" + m_keys.prefix() + "cache:)"; }

 private:
  redis::ValueSlot slot(const std::string& fingerprint) const {
    return {m_keys.stage_cache(fingerprint), "", m_keys.stage_cache_chunks(fingerprint)};
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

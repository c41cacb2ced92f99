#include "service/idempotency_keys.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "lib/util/error.hpp"
#include "lib/util/file_io.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/sha256.hpp"

namespace pipeline::service {
namespace {

namespace fs = std::filesystem;
using util::ErrorKind;

// A claim whose request died before completing it is free again after this.
constexpr std::chrono::seconds k_claim_lifetime{120};

long long unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The record of a key: {fingerprint, created (unix s), status, location, body}; status 0 while claimed.
std::string key_record(const std::string& fingerprint, const KeptAnswer* answer) {
  nlohmann::json record{{"fingerprint", fingerprint}, {"created", unix_seconds_now()}};
  record["status"] = answer ? answer->status : 0;
  record["location"] = answer ? answer->location : "";
  record["body"] = answer ? answer->body : "";
  return util::dump_json(record);
}

// What a kept record says of a new request with `fingerprint`; nullopt when
// the record is unreadable or has lapsed (the key is free).
std::optional<KeyClaim> judge_record(std::string_view text, const std::string& fingerprint) {
  const auto record = util::parse_json_or_discarded(text);
  if (!record.is_object()) return std::nullopt;
  const long long created = record.value("created", 0LL);
  const int status = record.value("status", 0);
  const long long age = unix_seconds_now() - created;
  const auto lifetime = status == 0 ? k_claim_lifetime : std::chrono::seconds(k_idempotency_key_lifetime);
  if (age > lifetime.count()) return std::nullopt;
  if (record.value("fingerprint", "") != fingerprint) return KeyClaim{KeyClaim::Outcome::conflict, {}};
  if (status == 0) return KeyClaim{KeyClaim::Outcome::in_progress, {}};
  return KeyClaim{KeyClaim::Outcome::replay,
                  {status, record.value("location", ""), record.value("body", "")}};
}

class FolderIdempotencyKeys final : public IdempotencyKeys {
 public:
  explicit FolderIdempotencyKeys(fs::path dir) : m_dir(std::move(dir)) {}

  util::Expected<KeyClaim> claim(const std::string& key, const std::string& fingerprint) override {
    std::lock_guard lock(m_mutex);
    std::error_code error;
    fs::create_directories(m_dir, error);
    if (error) return util::fail(ErrorKind::failed, fmt::format("cannot make {}: {}", m_dir.string(), error.message()));
    const fs::path path = file(key);
    // Only one serve process uses a folder store, so the mutex orders the claims.
    if (auto text = util::read_file(path, {.max_bytes = 8 << 20, .follow_symlinks = false})) {
      if (auto judged = judge_record(*text, fingerprint)) return *judged;
    }
    if (auto written = util::write_file_atomic(path, key_record(fingerprint, nullptr), util::Sync::later); !written) {
      return written.error();
    }
    return KeyClaim{};
  }

  util::Expected<void> complete(const std::string& key, const std::string& fingerprint,
                                const KeptAnswer& answer) override {
    std::lock_guard lock(m_mutex);
    return util::write_file_atomic(file(key), key_record(fingerprint, &answer), util::Sync::later);
  }

  void release(const std::string& key) override {
    std::lock_guard lock(m_mutex);
    std::error_code ignored;
    fs::remove(file(key), ignored);
  }

 private:
  fs::path file(const std::string& key) const { return m_dir / (util::sha256_hex(key) + ".json"); }

  const fs::path m_dir;
  std::mutex m_mutex;
};

class RedisIdempotencyKeys final : public IdempotencyKeys {
 public:
  explicit RedisIdempotencyKeys(const checkpoints::RedisRunStore& store)
      : m_connection(store.new_connection()), m_prefix(store.keys().prefix() + "idempotency:"), m_where(store.where()) {}

  util::Expected<KeyClaim> claim(const std::string& key, const std::string& fingerprint) override {
    std::lock_guard lock(m_mutex);
    const std::string name = m_prefix + util::sha256_hex(key);
    // Two tries: a record that lapsed between GET and SET NX is taken over once.
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto set = m_connection->command({"SET", name, key_record(fingerprint, nullptr), "NX", "EX",
                                        std::to_string(k_claim_lifetime.count())});
      if (!set) return set.error();
      if (set->is_ok()) return KeyClaim{};
      if (set->is_error()) return util::fail(ErrorKind::failed, fmt::format("{}: {}", m_where, set->text));
      auto kept = m_connection->command({"GET", name});
      if (!kept) return kept.error();
      if (kept->is_string()) {
        if (auto judged = judge_record(kept->text, fingerprint)) return *judged;
        (void)m_connection->command({"DEL", name});
      }
    }
    return KeyClaim{KeyClaim::Outcome::in_progress, {}};
  }

  util::Expected<void> complete(const std::string& key, const std::string& fingerprint,
                                const KeptAnswer& answer) override {
    std::lock_guard lock(m_mutex);
    auto set = m_connection->command({"SET", m_prefix + util::sha256_hex(key), key_record(fingerprint, &answer), "EX",
                                      std::to_string(std::chrono::seconds(k_idempotency_key_lifetime).count())});
    if (!set) return set.error();
    if (set->is_error()) return util::fail(ErrorKind::failed, fmt::format("{}: {}", m_where, set->text));
    return {};
  }

  void release(const std::string& key) override {
    std::lock_guard lock(m_mutex);
    (void)m_connection->command({"DEL", m_prefix + util::sha256_hex(key)});
  }

 private:
  std::mutex m_mutex;
  std::unique_ptr<redis::Connection> m_connection;
  const std::string m_prefix;
  const std::string m_where;
};

}  // namespace

std::unique_ptr<IdempotencyKeys> make_folder_idempotency_keys(const fs::path& root) {
  return std::make_unique<FolderIdempotencyKeys>(root / ".idempotency");
}

std::unique_ptr<IdempotencyKeys> make_redis_idempotency_keys(const checkpoints::RedisRunStore& store) {
  return std::make_unique<RedisIdempotencyKeys>(store);
}

bool is_valid_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > 255) return false;
  for (const unsigned char c : key) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace pipeline::service

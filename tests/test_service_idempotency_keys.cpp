#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoints/redis_run_store.hpp"
#include "lib/util/sha256.hpp"
#include "service/idempotency_keys.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"

using pipeline::service::IdempotencyKeys;
using pipeline::service::KeptAnswer;
using pipeline::service::KeyClaim;
using pipeline::testing::RedisServer;
using pipeline::testing::TempDir;

namespace {

KeyClaim::Outcome idem_claim(IdempotencyKeys& keys, const std::string& key, const std::string& fingerprint) {
  auto claim = keys.claim(key, fingerprint);
  REQUIRE_MESSAGE(claim.has_value(), claim.error().message);
  return claim->outcome;
}

// What both kinds of keys promise: a claim, the same request while it is
// answered, a replay of the answer, another request with the key, a release.
void idem_check_life_of_a_key(IdempotencyKeys& keys) {
  const KeptAnswer answer{202, "/v1/runs/run-1", R"({"run_id":"run-1","status":"queued"})"};

  CHECK(idem_claim(keys, "key-1", "POST /v1/runs a") == KeyClaim::Outcome::claimed);
  CHECK(idem_claim(keys, "key-1", "POST /v1/runs a") == KeyClaim::Outcome::in_progress);
  CHECK(idem_claim(keys, "key-1", "POST /v1/runs b") == KeyClaim::Outcome::conflict);
  // Another key is free.
  CHECK(idem_claim(keys, "key-2", "POST /v1/runs a") == KeyClaim::Outcome::claimed);

  auto completed = keys.complete("key-1", "POST /v1/runs a", answer);
  REQUIRE_MESSAGE(completed.has_value(), completed.error().message);
  for (int i = 0; i < 2; ++i) {
    auto replay = keys.claim("key-1", "POST /v1/runs a");
    REQUIRE(replay.has_value());
    CHECK(replay->outcome == KeyClaim::Outcome::replay);
    CHECK(replay->answer.status == 202);
    CHECK(replay->answer.location == answer.location);
    CHECK(replay->answer.body == answer.body);
  }
  auto conflict = keys.claim("key-1", "POST /v1/runs b");
  REQUIRE(conflict.has_value());
  CHECK(conflict->outcome == KeyClaim::Outcome::conflict);
  CHECK(conflict->answer.body.empty());

  // A released claim may be made again, by another request too.
  keys.release("key-2");
  CHECK(idem_claim(keys, "key-2", "POST /v1/runs c") == KeyClaim::Outcome::claimed);
  CHECK(idem_claim(keys, "key-2", "POST /v1/runs a") == KeyClaim::Outcome::conflict);
  keys.release("never-claimed");  // nothing to forget, and no harm

  // Keys that differ only slightly are different keys.
  CHECK(idem_claim(keys, "key-1 ", "POST /v1/runs b") == KeyClaim::Outcome::claimed);
  CHECK(idem_claim(keys, "KEY-1", "POST /v1/runs b") == KeyClaim::Outcome::claimed);
}

// Claims of one key by many requests at once: exactly one gets it.
void idem_check_race(const std::vector<IdempotencyKeys*>& claimers) {
  constexpr int k_rounds = 8;
  std::atomic<int> claimed{0};
  std::atomic<int> in_progress{0};
  std::atomic<int> failed{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < k_rounds; ++i) {
    IdempotencyKeys* keys = claimers[static_cast<std::size_t>(i) % claimers.size()];
    threads.emplace_back([&, keys] {
      while (!go) std::this_thread::yield();
      auto claim = keys->claim("raced-key", "POST /v1/runs same");
      if (!claim) {
        ++failed;
      } else if (claim->outcome == KeyClaim::Outcome::claimed) {
        ++claimed;
      } else if (claim->outcome == KeyClaim::Outcome::in_progress) {
        ++in_progress;
      }
    });
  }
  go = true;
  for (auto& thread : threads) thread.join();
  CHECK(failed.load() == 0);
  CHECK(claimed.load() == 1);
  CHECK(in_progress.load() == k_rounds - 1);
}

std::string idem_read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<pipeline::checkpoints::RedisRunStore> idem_redis_store(const RedisServer& server) {
  pipeline::checkpoints::RedisStoreOptions options;
  options.connect = server.connect_options();
  return pipeline::checkpoints::make_redis_run_store(options);
}

}  // namespace

TEST_CASE("folder idempotency keys: claim, in progress, replay, conflict, release") {
  TempDir dir;
  auto keys = pipeline::service::make_folder_idempotency_keys(dir.path());
  idem_check_life_of_a_key(*keys);
}

TEST_CASE("folder idempotency keys: answers outlive the process, files are named by the key's hash") {
  TempDir dir;
  const std::string key = "../../escape/../key";
  {
    auto keys = pipeline::service::make_folder_idempotency_keys(dir.path());
    REQUIRE(idem_claim(*keys, key, "fp") == KeyClaim::Outcome::claimed);
    REQUIRE(keys->complete(key, "fp", {202, "/v1/runs/r", "{}"}).has_value());
  }
  const auto file = std::filesystem::path(dir.path()) / ".idempotency" / (pipeline::util::sha256_hex(key) + ".json");
  CHECK(std::filesystem::exists(file));
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) files += entry.is_regular_file();
  CHECK(files == 1);

  auto keys = pipeline::service::make_folder_idempotency_keys(dir.path());
  auto replay = keys->claim(key, "fp");
  REQUIRE(replay.has_value());
  CHECK(replay->outcome == KeyClaim::Outcome::replay);
  CHECK(replay->answer.location == "/v1/runs/r");
}

TEST_CASE("folder idempotency keys: an answer is kept 24 hours, then the key is free") {
  TempDir dir;
  auto keys = pipeline::service::make_folder_idempotency_keys(dir.path());
  REQUIRE(idem_claim(*keys, "old-key", "fp") == KeyClaim::Outcome::claimed);
  REQUIRE(keys->complete("old-key", "fp", {202, "/v1/runs/r", "{}"}).has_value());
  const auto file = std::filesystem::path(dir.path()) / ".idempotency" / (pipeline::util::sha256_hex("old-key") + ".json");
  auto record = nlohmann::json::parse(idem_read(file));
  REQUIRE(record.contains("created"));
  const long long now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto age_record = [&](std::chrono::seconds age) {
    record["created"] = now - age.count();
    std::ofstream(file, std::ios::binary | std::ios::trunc) << record.dump();
  };
  age_record(std::chrono::hours(23));
  CHECK(idem_claim(*keys, "old-key", "fp") == KeyClaim::Outcome::replay);
  age_record(std::chrono::hours(25));
  CHECK(idem_claim(*keys, "old-key", "another fp") == KeyClaim::Outcome::claimed);
}

TEST_CASE("folder idempotency keys: a damaged record frees the key") {
  TempDir dir;
  auto keys = pipeline::service::make_folder_idempotency_keys(dir.path());
  REQUIRE(idem_claim(*keys, "torn-key", "fp") == KeyClaim::Outcome::claimed);
  const auto file = std::filesystem::path(dir.path()) / ".idempotency" / (pipeline::util::sha256_hex("torn-key") + ".json");
  std::ofstream(file, std::ios::binary | std::ios::trunc) << "{\"fingerprint\": ";
  CHECK(idem_claim(*keys, "torn-key", "fp") == KeyClaim::Outcome::claimed);
}

TEST_CASE("folder idempotency keys: requests racing with one key make one claim") {
  TempDir dir;
  auto keys = pipeline::service::make_folder_idempotency_keys(dir.path());
  idem_check_race({keys.get()});
}

TEST_CASE("Redis idempotency keys: claim, in progress, replay, conflict, release") {
  RedisServer server;
  auto store = idem_redis_store(server);
  auto keys = pipeline::service::make_redis_idempotency_keys(*store);
  idem_check_life_of_a_key(*keys);
}

TEST_CASE("Redis idempotency keys: one key per hash under the store's prefix, kept 24 hours") {
  RedisServer server;
  auto store = idem_redis_store(server);
  auto keys = pipeline::service::make_redis_idempotency_keys(*store);
  const std::string name = "pipeline:idempotency:" + pipeline::util::sha256_hex("ttl-key");
  REQUIRE(idem_claim(*keys, "ttl-key", "fp") == KeyClaim::Outcome::claimed);
  CHECK(server.command({"EXISTS", name}).integer == 1);
  // A claim is not kept as long as an answer: a request that died frees its key.
  const long long claim_ttl = server.command({"TTL", name}).integer;
  CHECK(claim_ttl > 0);
  CHECK(claim_ttl < 24 * 3600);

  REQUIRE(keys->complete("ttl-key", "fp", {202, "/v1/runs/r", "{}"}).has_value());
  const long long answer_ttl = server.command({"TTL", name}).integer;
  CHECK(answer_ttl > 24 * 3600 - 60);
  CHECK(answer_ttl <= 24 * 3600);
  CHECK(server.command({"KEYS", "pipeline:idempotency:*"}).elements.size() == 1);

  // Another serve process on the same store replays the answer.
  auto other_store = idem_redis_store(server);
  auto other = pipeline::service::make_redis_idempotency_keys(*other_store);
  auto replay = other->claim("ttl-key", "fp");
  REQUIRE(replay.has_value());
  CHECK(replay->outcome == KeyClaim::Outcome::replay);
  CHECK(replay->answer.status == 202);

  // Once Redis lets it lapse, the key is free.
  server.command({"DEL", name});
  CHECK(idem_claim(*other, "ttl-key", "another fp") == KeyClaim::Outcome::claimed);
  keys->release("ttl-key");
  CHECK(server.command({"EXISTS", name}).integer == 0);
}

TEST_CASE("Redis idempotency keys: serve processes racing with one key make one claim") {
  RedisServer server;
  std::vector<std::unique_ptr<pipeline::checkpoints::RedisRunStore>> stores;
  std::vector<std::unique_ptr<IdempotencyKeys>> keys;
  std::vector<IdempotencyKeys*> claimers;
  for (int i = 0; i < 4; ++i) {
    stores.push_back(idem_redis_store(server));
    keys.push_back(pipeline::service::make_redis_idempotency_keys(*stores.back()));
    claimers.push_back(keys.back().get());
  }
  idem_check_race(claimers);
}

TEST_CASE("Redis idempotency keys: a server that is gone is an error, not a claim") {
  auto server = std::make_unique<RedisServer>();
  auto store = idem_redis_store(*server);
  auto keys = pipeline::service::make_redis_idempotency_keys(*store);
  server->kill();
  auto claim = keys->claim("key", "fp");
  CHECK_FALSE(claim.has_value());
}

TEST_CASE("an idempotency key is 1 to 255 printable ASCII characters") {
  using pipeline::service::is_valid_idempotency_key;
  CHECK(is_valid_idempotency_key("a"));
  CHECK(is_valid_idempotency_key("8e03978e-40d5-43e8-bc93-6894a57f9324"));
  CHECK(is_valid_idempotency_key(" spaces and ~punctuation!\"'{}"));
  CHECK(is_valid_idempotency_key(std::string(255, 'k')));
  CHECK_FALSE(is_valid_idempotency_key(""));
  CHECK_FALSE(is_valid_idempotency_key(std::string(256, 'k')));
  CHECK_FALSE(is_valid_idempotency_key("line\nbreak"));
  CHECK_FALSE(is_valid_idempotency_key("tab\there"));
  CHECK_FALSE(is_valid_idempotency_key("del\x7f"));
  CHECK_FALSE(is_valid_idempotency_key("caf\xc3\xa9"));
  CHECK_FALSE(is_valid_idempotency_key(std::string("nul\0byte", 8)));
}

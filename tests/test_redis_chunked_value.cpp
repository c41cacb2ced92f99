#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "lib/redis/chunked_value.hpp"
#include "lib/util/sha256.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/redis_server.hpp"

using namespace std::chrono_literals;
using pipeline::testing::eventually;
using pipeline::testing::RedisServer;
namespace redis = pipeline::redis;
namespace util = pipeline::util;

namespace {

void redis_value_require(const util::Expected<void>& result) { REQUIRE_MESSAGE(result.has_value(), result.error().message); }

std::string patterned_value(std::size_t size, int seed) {
  std::string value(size, '\0');
  for (std::size_t i = 0; i < size; ++i) value[i] = static_cast<char>((i * 131 + i / 977 + static_cast<std::size_t>(seed)) % 256);
  return value;
}

}  // namespace

TEST_CASE("a value up to 512 KiB is stored inline; a larger one in chunks of 512 KiB") {
  RedisServer server;
  auto connection = server.connect();
  const redis::ValueSlot slot{"v", "", "v:chunk:"};
  const std::string small = patterned_value(redis::k_chunk_bytes, 1);
  redis_value_require(redis::put_value(*connection, slot, small, {}, "writing v"));
  CHECK(server.command({"GET", "v"}).text == "=" + small);
  CHECK(redis::get_value(*connection, slot).value_or_throw() == small);

  const std::string large = patterned_value(redis::k_chunk_bytes + 1, 2);
  redis_value_require(redis::put_value(*connection, slot, large, {}, "writing v"));
  const std::string record = server.command({"GET", "v"}).text;
  CHECK(record.rfind(fmt::format("*2 {} {} v:chunk:", large.size(), util::sha256_hex(large)), 0) == 0);
  const auto chunks = server.command({"KEYS", "v:chunk:*"});
  REQUIRE(chunks.elements.size() == 2);
  CHECK(redis::get_value(*connection, slot).value_or_throw() == large);
  CHECK(redis::get_value(*connection, {"missing", "", "missing:chunk:"}).value_or_throw() == std::nullopt);

  SUBCASE("an empty value is a value, not a missing one") {
    redis_value_require(redis::put_value(*connection, slot, "", {}, "writing v"));
    CHECK(redis::get_value(*connection, slot).value_or_throw() == std::optional<std::string>(""));
    CHECK(server.command({"KEYS", "v:chunk:*"}).elements.empty());
  }
  SUBCASE("a record that is neither kind is damaged: bad input") {
    server.command({"SET", "v", "garbage"});
    auto read = redis::get_value(*connection, slot);
    REQUIRE_FALSE(read.has_value());
    CHECK(read.error().kind == util::ErrorKind::bad_input);
    CHECK(read.error().code == "redis_damaged");
  }
  SUBCASE("a chunk with other bytes fails the recorded SHA-256") {
    server.command({"SETRANGE", chunks.elements[0].text, "10", "X"});
    CHECK_FALSE(redis::get_value(*connection, slot).has_value());
  }
}

TEST_CASE("hash fields hold values too, read many at once, in order") {
  RedisServer server;
  auto connection = server.connect();
  const std::string large = patterned_value(1100 * 1024, 3);
  redis_value_require(redis::put_value(*connection, {"h", "a", "h:chunk:"}, "alpha", {}, "writing a"));
  redis_value_require(redis::put_value(*connection, {"h", "b", "h:chunk:"}, large, {}, "writing b"));
  redis_value_require(redis::put_value(*connection, {"h", "c", "h:chunk:"}, "gamma", {}, "writing c"));
  auto values = redis::get_fields(*connection, "h", {"c", "missing", "b", "a"}, "h:chunk:");
  REQUIRE_MESSAGE(values.has_value(), values.error().message);
  REQUIRE(values->size() == 4);
  CHECK((*values)[0] == std::optional<std::string>("gamma"));
  CHECK((*values)[1] == std::nullopt);
  CHECK((*values)[2] == std::optional<std::string>(large));
  CHECK((*values)[3] == std::optional<std::string>("alpha"));
  CHECK(redis::get_fields(*connection, "h", {}, "h:chunk:").value_or_throw().empty());
}

TEST_CASE("committing can add the slot's name to an index set in the same step") {
  RedisServer server;
  auto connection = server.connect();
  redis_value_require(redis::put_value(*connection, {"k", "", "k:chunk:"}, "x", {std::nullopt, "index", "k"}, "writing k"));
  CHECK(server.command({"SISMEMBER", "index", "k"}).integer == 1);
}

TEST_CASE("a fenced commit is refused, before anything changes, once the lease is not the writer's") {
  RedisServer server;
  auto connection = server.connect();
  server.command({"HSET", "lease", "owner", "me", "epoch", "4"});
  const redis::ValueSlot slot{"k", "", "k:chunk:"};
  const redis::Fence fence{"lease", "me", 4};
  redis_value_require(redis::put_value(*connection, slot, "mine", {fence, "index", "k"}, "writing k"));
  server.command({"HSET", "lease", "owner", "you", "epoch", "5"});
  auto refused = redis::put_value(*connection, slot, patterned_value(700 * 1024, 4), {fence, "index2", "k"}, "writing k");
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == redis::k_lease_lost_code);
  CHECK(redis::get_value(*connection, slot).value_or_throw() == std::optional<std::string>("mine"));
  CHECK(server.command({"EXISTS", "index2"}).integer == 0);
}

TEST_CASE("a torn chunked write is never visible") {
  RedisServer server;
  auto connection = server.connect();
  const redis::ValueSlot slot{"pipeline:test:value", "", "pipeline:test:chunk:"};
  const std::string old_value(900 * 1024, 'o');
  redis_value_require(redis::put_value(*connection, slot, old_value, {}, "writing the old value"));
  const std::string new_value(1200 * 1024, 'n');

  SUBCASE("chunks written, the writer dies before the switch: the old value stays, the chunks expire") {
    auto staged = redis::stage_value(*connection, slot, new_value);
    REQUIRE(staged.has_value());
    CHECK(staged->chunk_keys.size() == 3);
    CHECK(redis::get_value(*connection, slot).value_or_throw() == old_value);
    for (const auto& key : staged->chunk_keys) {
      const auto ttl = server.command({"PTTL", key}).integer;
      CHECK(ttl > 0);
      CHECK(ttl <= std::chrono::milliseconds(redis::k_staged_chunk_ttl).count());
    }
  }
  SUBCASE("a chunk gone before the switch makes the switch fail, and the old value stays") {
    auto staged = redis::stage_value(*connection, slot, new_value);
    REQUIRE(staged.has_value());
    server.command({"DEL", staged->chunk_keys[2]});
    auto committed = redis::commit_value(*connection, slot, *staged, {}, "writing the new value");
    REQUIRE_FALSE(committed.has_value());
    CHECK(committed.error().message.find("CHUNKMISSING") != std::string::npos);
    CHECK(redis::get_value(*connection, slot).value_or_throw() == old_value);
  }
  SUBCASE("readers racing a writer see one value or the other, whole") {
    std::atomic<bool> done{false};
    std::atomic<int> reads{0};
    std::atomic<int> torn{0};
    std::thread reader([&] {
      auto own = server.connect();
      while (!done) {
        auto value = redis::get_value(*own, slot);
        if (!value || !*value) {
          ++torn;
          continue;
        }
        const std::string& text = **value;
        const bool whole = text == old_value || text == new_value ||
                           (text.size() == 1000 * 1024 && text.find_first_not_of('m') == std::string::npos);
        if (!whole) ++torn;
        ++reads;
      }
    });
    for (int round = 0; round < 15; ++round) {
      redis_value_require(redis::put_value(*connection, slot, round % 2 ? new_value : std::string(1000 * 1024, 'm'), {},
                                           "rewriting the value"));
    }
    eventually([&] { return reads > 20; }, 10s);
    done = true;
    reader.join();
    CHECK(reads > 0);
    CHECK(torn == 0);
    CHECK(server.command({"KEYS", "pipeline:test:chunk:*"}).elements.size() == 2);
  }
}


TEST_CASE("a chunk record claiming more than a value can hold is damaged, refused before anything is allocated") {
  RedisServer server;
  auto connection = server.connect();
  const redis::ValueSlot slot{"hostile", "", "hostile:chunk:"};
  const std::string sha(64, 'a');
  const std::vector<std::string> records = {
      "*1000000000 1 " + sha + " hostile:chunk:x:",                  // a billion chunks for one byte
      "*1000000000 524288000000000 " + sha + " hostile:chunk:x:",   // and half a petabyte
      "*18446744073709551615 1 " + sha + " p:",                      // the largest count that parses
      "*99999999999999999999999 1 " + sha + " p:",                   // a count that does not
      "*2 1 " + sha + " p:",                                          // two chunks for one byte
      "*1 600000 " + sha + " p:",                                     // one chunk for more than a chunk
      "*1 10 " + sha + " p:",                                         // a small value never has chunks
      "*0 0 " + sha + " p:",
      "*",
      "garbage",
      "",
  };
  for (const auto& record : records) {
    CAPTURE(record);
    server.command({"SET", "hostile", record});
    const auto started = std::chrono::steady_clock::now();
    auto value = redis::get_value(*connection, slot);
    REQUIRE_FALSE(value.has_value());
    CHECK(value.error().kind == util::ErrorKind::bad_input);
    CHECK(value.error().code == "redis_damaged");
    CHECK(value.error().message.find('\n') == std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
  }
}

TEST_CASE("chunks that add up to more than the record says are damaged, not read on") {
  RedisServer server;
  auto connection = server.connect();
  const redis::ValueSlot slot{"grown", "", "grown:chunk:"};
  redis_value_require(redis::put_value(*connection, slot, patterned_value(600 * 1024, 7), {}, "writing grown"));
  const std::string record = server.command({"GET", "grown"}).text;
  const std::string prefix = record.substr(record.rfind(' ') + 1);
  server.command({"APPEND", prefix + "1", std::string(300 * 1024, 'x')});
  auto value = redis::get_value(*connection, slot);
  REQUIRE_FALSE(value.has_value());
  CHECK(value.error().code == "redis_damaged");
  CHECK(value.error().message.find("more than the recorded size") != std::string::npos);
}

TEST_CASE("replacing a damaged record that claims a billion chunks does not keep Redis busy") {
  RedisServer server;
  auto connection = server.connect();
  const redis::ValueSlot slot{"replaced", "", "replaced:chunk:"};
  server.command({"SET", "replaced", "*1000000000 1 " + std::string(64, 'a') + " replaced:chunk:x:"});
  const auto started = std::chrono::steady_clock::now();
  redis_value_require(redis::put_value(*connection, slot, "fresh", {}, "writing replaced"));
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  CHECK(redis::get_value(*connection, slot).value_or_throw() == std::optional<std::string>("fresh"));
}

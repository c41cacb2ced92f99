#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "checkpoints/redis_lease.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/redis_server.hpp"

using namespace pipeline::checkpoints;
using namespace std::chrono_literals;
using pipeline::testing::eventually;
using pipeline::testing::RedisServer;
using pipeline::util::ErrorKind;

namespace {

const RedisKeys k_lease_test_keys;

std::unique_ptr<RedisRunLock> take_test_lease(const RedisServer& server, pipeline::redis::Connection& connection,
                                              std::chrono::milliseconds ttl, LeaseMode mode = LeaseMode::lock) {
  auto lock = acquire_run_lease(connection, server.connect_options(), k_lease_test_keys, "r1", ttl, mode);
  REQUIRE_MESSAGE(lock.has_value(), lock.error().message);
  return std::move(*lock);
}

}  // namespace

TEST_CASE("taking a lease: create needs a run without checkpoint, lock one with; each taking raises the epoch") {
  RedisServer server;
  auto connection = server.connect();
  {
    auto created = take_test_lease(server, *connection, 30s, LeaseMode::create);
    CHECK(created->epoch() == 1);
    CHECK(created->owner().find(fmt::format(":{}:", ::getpid())) != std::string::npos);
    const auto fields = server.command({"HGETALL", k_lease_test_keys.lease("r1")});
    CHECK(fields.elements.size() == 12);  // owner, epoch, pid, host, since, ttl_ms
    CHECK(server.command({"PTTL", k_lease_test_keys.lease("r1")}).integer > 29000);
  }
  CHECK(server.command({"EXISTS", k_lease_test_keys.lease("r1")}).integer == 0);
  auto missing = acquire_run_lease(*connection, server.connect_options(), k_lease_test_keys, "r1", 30s, LeaseMode::lock);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().kind == ErrorKind::bad_input);
  CHECK(missing.error().message.find("not found") != std::string::npos);

  server.command({"SET", k_lease_test_keys.checkpoint("r1"), "={}"});
  auto exists = acquire_run_lease(*connection, server.connect_options(), k_lease_test_keys, "r1", 30s, LeaseMode::create);
  REQUIRE_FALSE(exists.has_value());
  CHECK(exists.error().message == "run r1 exists already");
  auto locked = take_test_lease(server, *connection, 30s);
  CHECK(locked->epoch() == 2);
  auto busy = acquire_run_lease(*connection, server.connect_options(), k_lease_test_keys, "r1", 30s, LeaseMode::lock);
  REQUIRE_FALSE(busy.has_value());
  CHECK(busy.error().kind == ErrorKind::busy);
  CHECK(busy.error().code == "locked");
  CHECK(busy.error().message.find(fmt::format("leased by pid {} on host", ::getpid())) != std::string::npos);
  CHECK(busy.error().message.find("lease epoch 2") != std::string::npos);

  auto record = read_run_lease(*connection, k_lease_test_keys, "r1").value_or_throw();
  REQUIRE(record.has_value());
  CHECK(record->epoch == 2);
  CHECK(record->pid == ::getpid());
  CHECK(record->owner == locked->owner());
  CHECK(record->ttl_left > 25s);
}

TEST_CASE("the heartbeat keeps a lease past its TTL; a lost one is reported once; release hands it on at once") {
  RedisServer server;
  auto connection = server.connect();
  server.command({"SET", k_lease_test_keys.checkpoint("r1"), "={}"});
  auto lease = take_test_lease(server, *connection, 300ms);
  std::this_thread::sleep_for(900ms);
  CHECK(lease->held());
  CHECK(server.command({"PTTL", k_lease_test_keys.lease("r1")}).integer > 0);

  SUBCASE("taken over: on_lost runs once, held() turns false") {
    std::atomic<int> lost{0};
    lease->on_lost([&] { ++lost; });
    // Another process's lease now, which it keeps alive (here: for good).
    server.command({"HSET", k_lease_test_keys.lease("r1"), "owner", "someone-else"});
    server.command({"PERSIST", k_lease_test_keys.lease("r1")});
    CHECK(eventually([&] { return lost == 1; }, 2s));
    CHECK_FALSE(lease->held());
    std::atomic<int> late{0};
    lease->on_lost([&] { ++late; });
    CHECK(late == 1);
    std::this_thread::sleep_for(300ms);
    CHECK(lost == 1);
    // Releasing a lost lease leaves the new holder's alone.
    CHECK(lease->release().has_value());
    CHECK(server.command({"HGET", k_lease_test_keys.lease("r1"), "owner"}).text == "someone-else");
  }
  SUBCASE("released: gone from Redis, taken again at once with the next epoch") {
    REQUIRE(lease->release().has_value());
    CHECK_FALSE(lease->held());
    CHECK(server.command({"EXISTS", k_lease_test_keys.lease("r1")}).integer == 0);
    auto next = take_test_lease(server, *connection, 30s);
    CHECK(next->epoch() == 2);
  }
  SUBCASE("the destructor releases it") {
    lease.reset();
    CHECK(server.command({"EXISTS", k_lease_test_keys.lease("r1")}).integer == 0);
  }
}

TEST_CASE("a lease lapses when Redis cannot be reached for longer than its TTL") {
  RedisServer server;
  auto connection = server.connect();
  server.command({"SET", k_lease_test_keys.checkpoint("r1"), "={}"});
  auto lease = take_test_lease(server, *connection, 400ms);
  std::atomic<bool> lost{false};
  lease->on_lost([&] { lost = true; });
  server.signal(SIGSTOP);
  CHECK(eventually([&] { return lost.load(); }, 3s));
  server.signal(SIGCONT);
  CHECK_FALSE(lease->held());
}

TEST_CASE("a lease handle is valid only within its TTL of the last renewal") {
  const LeaseHandle fresh("r1", {"lease", "me", 1}, 200ms, std::chrono::steady_clock::now());
  CHECK(fresh.valid());
  const LeaseHandle stale("r1", {"lease", "me", 1}, 200ms, std::chrono::steady_clock::now() - 250ms);
  CHECK_FALSE(stale.valid());
  LeaseHandle renewed("r1", {"lease", "me", 1}, 200ms, std::chrono::steady_clock::now() - 250ms);
  renewed.renewed(std::chrono::steady_clock::now());
  CHECK(renewed.valid());
  renewed.mark_released();
  CHECK_FALSE(renewed.valid());
}

TEST_CASE("a lease written without a TTL counts as expired: not shown, and replaced by the next taker") {
  RedisServer server;
  auto connection = server.connect();
  server.command({"SET", k_lease_test_keys.checkpoint("r1"), "={}"});
  server.command({"HSET", k_lease_test_keys.lease("r1"), "owner", "ghost", "epoch", "41", "pid", "1", "host", "gone",
                  "since", "2020-01-01T00:00:00Z"});
  CHECK(server.command({"PTTL", k_lease_test_keys.lease("r1")}).integer == -1);
  CHECK_FALSE(read_run_lease(*connection, k_lease_test_keys, "r1").value_or_throw().has_value());

  auto lock = take_test_lease(server, *connection, 30s);
  CHECK(lock->owner() != "ghost");
  CHECK(server.command({"PTTL", k_lease_test_keys.lease("r1")}).integer > 25000);
  auto record = read_run_lease(*connection, k_lease_test_keys, "r1").value_or_throw();
  REQUIRE(record.has_value());
  CHECK(record->owner == lock->owner());
}

TEST_CASE("a lease key of the wrong type is bad input, not a failure of the program") {
  RedisServer server;
  auto connection = server.connect();
  server.command({"SET", k_lease_test_keys.lease("r1"), "not a hash"});
  auto record = read_run_lease(*connection, k_lease_test_keys, "r1");
  REQUIRE_FALSE(record.has_value());
  CHECK(record.error().kind == ErrorKind::bad_input);
  CHECK(record.error().code == "redis_wrongtype");
}

#include <doctest/doctest.h>

#include "lib/redis/redis_fence.hpp"
#include "lib/redis/redis_script.hpp"
#include "tests/support/redis_server.hpp"

using namespace pipeline::redis;
using pipeline::testing::RedisServer;
using pipeline::util::ErrorKind;

namespace {

// A fenced write of ARGV[3] to KEYS[2].
const Script& fenced_set_script() {
  static const Script script(lua_fence_check() + "redis.call('SET', KEYS[2], ARGV[3]) return 1\n");
  return script;
}

Reply fenced_set(Connection& connection, const std::optional<Fence>& fence, const std::string& value) {
  auto keys = fence_keys(fence, "target");
  keys.push_back("target");
  auto args = fence_args(fence);
  args.push_back(value);
  auto reply = fenced_set_script().run(connection, keys, args);
  REQUIRE_MESSAGE(reply.has_value(), reply.error().message);
  return *reply;
}

}  // namespace

TEST_CASE("a fenced script writes only while the lease names its owner and epoch") {
  RedisServer server;
  auto connection = server.connect();
  server.command({"HSET", "lease", "owner", "me", "epoch", "3"});
  const Fence mine{"lease", "me", 3};
  CHECK(fenced_set(*connection, mine, "one").integer == 1);
  CHECK(server.command({"GET", "target"}).text == "one");

  for (const Fence& other : {Fence{"lease", "me", 2}, Fence{"lease", "you", 3}, Fence{"gone", "me", 3}}) {
    CAPTURE(other.owner);
    const Reply refused = fenced_set(*connection, other, "two");
    REQUIRE(refused.is_error());
    CHECK(refused.error_code() == "LEASELOST");
    CHECK(server.command({"GET", "target"}).text == "one");
    const auto error = script_error(refused, "writing target", connection->where());
    CHECK(error.kind == ErrorKind::busy);
    CHECK(error.code == k_lease_lost_code);
    CHECK(error.message.find("writing target was refused") == 0);
  }
  CHECK(fenced_set(*connection, Fence{"gone", "me", 3}, "x").text.find("no one holds it now") != std::string::npos);
  CHECK(fenced_set(*connection, Fence{"lease", "me", 2}, "x").text.find("epoch 3 holds it now") != std::string::npos);
  // Without a fence the script writes.
  CHECK(fenced_set(*connection, std::nullopt, "three").integer == 1);
  CHECK(server.command({"GET", "target"}).text == "three");
}

TEST_CASE("other script errors keep the kind reply_error gives them") {
  Reply reply;
  reply.type = Reply::Type::error;
  reply.text = "OOM command not allowed when used memory > 'maxmemory'.";
  CHECK(script_error(reply, "writing", "redis://h:6379/0").kind == ErrorKind::transient);
  reply.text = "ERR something";
  CHECK(script_error(reply, "writing", "redis://h:6379/0").kind == ErrorKind::failed);
}

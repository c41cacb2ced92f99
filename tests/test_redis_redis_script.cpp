#include <doctest/doctest.h>

#include "lib/redis/redis_script.hpp"
#include "tests/support/redis_server.hpp"

using pipeline::redis::Reply;
using pipeline::redis::Script;
using pipeline::testing::RedisServer;

namespace {

// How often the server ran a command, from INFO commandstats.
long long script_calls(RedisServer& server, const std::string& command) {
  const std::string info = server.command({"INFO", "commandstats"}).text;
  const std::string marker = "cmdstat_" + command + ":calls=";
  const auto at = info.find(marker);
  if (at == std::string::npos) return 0;
  return std::stoll(info.substr(at + marker.size()));
}

}  // namespace

TEST_CASE("a script is named by its SHA-1, as SCRIPT LOAD names it") {
  RedisServer server;
  const Script script("return ARGV[1] .. KEYS[1]");
  CHECK(server.command({"SCRIPT", "LOAD", script.source()}).text == script.sha1());
}

TEST_CASE("a script is sent in full once, then by its SHA-1") {
  RedisServer server;
  auto connection = server.connect();
  const Script script("redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCR', KEYS[2])");
  for (int round = 1; round <= 3; ++round) {
    auto reply = script.run(*connection, {"value", "count"}, {"v" + std::to_string(round)});
    REQUIRE_MESSAGE(reply.has_value(), reply.error().message);
    CHECK(reply->integer == round);
  }
  CHECK(server.command({"GET", "value"}).text == "v3");
  CHECK(script_calls(server, "eval") == 1);
  CHECK(script_calls(server, "evalsha") == 3);

  // After SCRIPT FLUSH (or a restart) the server has forgotten it: EVAL again.
  server.command({"SCRIPT", "FLUSH"});
  auto reply = script.run(*connection, {"value", "count"}, {"v4"});
  REQUIRE_MESSAGE(reply.has_value(), reply.error().message);
  CHECK(reply->integer == 4);
  CHECK(script_calls(server, "eval") == 2);
}

TEST_CASE("a script's error comes back as an error reply") {
  RedisServer server;
  auto connection = server.connect();
  const Script script("return redis.error_reply('LEASELOST not yours')");
  auto reply = script.run(*connection, {}, {});
  REQUIRE(reply.has_value());
  CHECK(reply->is_error());
  CHECK(reply->error_code() == "LEASELOST");
}

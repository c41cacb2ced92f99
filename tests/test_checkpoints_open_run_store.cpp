#include <doctest/doctest.h>

#include "checkpoints/open_run_store.hpp"
#include "checkpoints/redis_run_store.hpp"
#include "lib/util/file_io.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/run_states.hpp"

using namespace pipeline;
using checkpoints::StoreLocation;

TEST_CASE("a store URL names a folder or a Redis server by its scheme") {
  auto plain = checkpoints::parse_store_url("./runs");
  REQUIRE(plain.has_value());
  CHECK(plain->kind == StoreLocation::Kind::folder);
  CHECK(plain->folder == "./runs");
  CHECK(checkpoints::parse_store_url("file:/srv/runs")->folder == "/srv/runs");
  CHECK(checkpoints::parse_store_url("FILE:///srv/runs")->folder == "/srv/runs");
  CHECK(checkpoints::parse_store_url("runs:2026")->folder == "runs:2026");

  auto redis = checkpoints::parse_store_url("rediss://default:pw@eu1.example:6380/2");
  REQUIRE(redis.has_value());
  CHECK(redis->kind == StoreLocation::Kind::redis);
  CHECK(redis->redis.tls);
  CHECK(redis->redis.db == 2);

  auto unknown = checkpoints::parse_store_url("s3://bucket/runs");
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().kind == util::ErrorKind::usage);
  CHECK(unknown.error().message.find("s3://") != std::string::npos);
  CHECK(checkpoints::parse_store_url("file:").error().kind == util::ErrorKind::usage);
  CHECK(checkpoints::parse_store_url("redis://:pw@").error().kind == util::ErrorKind::bad_input);
}

TEST_CASE("open_run_store opens the backend the URL names; the stage cache lives with a Redis store") {
  testing::TempDir dir;
  const checkpoints::StoreOptions options;
  auto folder = checkpoints::open_run_store("file:" + dir / "runs", options);
  REQUIRE(folder.has_value());
  CHECK((*folder)->location("r1") == dir / "runs" + "/r1");
  CHECK(checkpoints::open_store_stage_cache(dir / "runs", options).value_or_throw() == nullptr);

  testing::RedisServer server;
  auto redis = checkpoints::open_run_store(server.url(), options);
  REQUIRE(redis.has_value());
  CHECK(dynamic_cast<checkpoints::RedisRunStore*>(redis->get()) != nullptr);
  testing::run_with_two_done_stages(**redis, "r1");
  CHECK(server.command({"SISMEMBER", "pipeline:runs", "r1"}).integer == 1);
  auto cache = checkpoints::open_store_stage_cache(server.url(), options);
  REQUIRE(cache.has_value());
  REQUIRE(*cache != nullptr);
  CHECK((*cache)->location().find(server.connect_options().url.masked()) == 0);
}

TEST_CASE("a mistyped Redis URL is a usage error that never repeats the value, never a folder") {
  for (const std::string url :
       {"redis:/default:S3CRET@host:6379/0", "redis//default:S3CRET@host:6379/0", "rediss:/default:S3CRET@host:6380/0",
        "rediss:default:S3CRET@host", "REDIS:/:S3CRET@host", " redis://default:S3CRET@host:6379/0",
        "redis://default:S3CRET@host:6379/0 ", "\tS3CRET", "redis/S3CRET"}) {
    CAPTURE(url);
    auto location = checkpoints::parse_store_url(url);
    REQUIRE_FALSE(location.has_value());
    CHECK(location.error().kind == util::ErrorKind::usage);
    CHECK(location.error().message.find("S3CRET") == std::string::npos);
    CHECK(location.error().message.find("mistyped Redis URL") != std::string::npos);
  }
  // Folders whose names merely start with the word stay folders.
  CHECK(checkpoints::parse_store_url("redis-runs")->folder == "redis-runs");
  CHECK(checkpoints::parse_store_url("./redis/runs")->folder == "./redis/runs");
  CHECK(checkpoints::parse_store_url("runs with spaces")->folder == "runs with spaces");
}

TEST_CASE("read_store_url_file reads the one line of a store file, and refuses anything else") {
  testing::TempDir dir;
  const auto file = dir / "store";
  REQUIRE(util::write_file_atomic(file, "rediss://default:S3CRET@host:6380/0\n"));
  CHECK(checkpoints::read_store_url_file(file).value_or_throw() == "rediss://default:S3CRET@host:6380/0");
  REQUIRE(util::write_file_atomic(file, "  \n"));
  CHECK(checkpoints::read_store_url_file(file).error().kind == util::ErrorKind::bad_input);
  REQUIRE(util::write_file_atomic(file, "redis://a\nredis://b\n"));
  CHECK(checkpoints::read_store_url_file(file).error().message.find("more than one line") != std::string::npos);
  auto missing = checkpoints::read_store_url_file(dir / "missing");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message.rfind("--store-file: ", 0) == 0);
  CHECK(checkpoints::read_store_url_file("/dev/zero").error().message.find("not a regular file") != std::string::npos);
}

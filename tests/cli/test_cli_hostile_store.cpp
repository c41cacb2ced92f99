#include <doctest/doctest.h>

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "checkpoints/redis_keys.hpp"
#include "lib/util/file_io.hpp"
#include "tests/support/cli_env.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/run_fixture.hpp"

using namespace pipeline::testing;
using nlohmann::json;
namespace fs = std::filesystem;
namespace checkpoints = pipeline::checkpoints;
namespace util = pipeline::util;

namespace {

const std::string k_deep = std::string(150000, '[') + std::string(150000, ']');

// A command answered hostile data with `code` and exactly one error line,
// never a signal.
void check_one_error_line(const ProcessResult& result, int code) {
  INFO("stderr: " << result.err.substr(0, 600));
  CHECK(result.term_signal == 0);
  CHECK(result.exit_code == code);
  CHECK(result.err.rfind("pipeline: error: ", 0) == 0);
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
}

// The commands that read one run: each must refuse a damaged one with exit 3.
void check_run_refused(const CliEnv& env, const std::string& run_id) {
  for (const std::vector<std::string>& command : std::vector<std::vector<std::string>>{
           {"status", run_id}, {"show", run_id}, {"resume", run_id}, {"report", run_id}, {"status", run_id, "--json"}}) {
    CAPTURE(command.front());
    check_one_error_line(env.run(command), 3);
  }
}

// `list` warns about the damaged run and still lists the good one.
void check_list_goes_on(const CliEnv& env, const std::string& bad, const std::string& good) {
  auto list = env.run({"list"});
  INFO(list.err);
  CHECK(list.term_signal == 0);
  REQUIRE(list.exit_code == 0);
  CHECK(list.out.find(good) != std::string::npos);
  CHECK(list.err.find("pipeline: warning: run " + bad + " cannot be read") != std::string::npos);
  auto listed = env.run({"list", "--json"});
  REQUIRE(listed.exit_code == 0);
  const auto runs = json::parse(listed.out);
  REQUIRE(runs.size() == 2);
  for (const auto& run : runs) CHECK(run.at("status") == (run.at("run_id") == bad ? "unreadable" : "completed"));
}

void use_redis(CliEnv& env, const RedisServer& redis) {
  env.options.env["PIPELINE_STORE"] = redis.url();
  env.options.env["PIPELINE_CACHE_DIR"] = "";
}

// Makes `run_id` a run of the Redis store whose checkpoint record is `record`.
void plant_redis_run(const RedisServer& redis, const std::string& run_id, const std::string& record) {
  const checkpoints::RedisKeys keys;
  redis.command({"DEL", keys.checkpoint(run_id)});
  redis.command({"SET", keys.checkpoint(run_id), record});
  redis.command({"SADD", keys.runs(), run_id});
}

RedisServerOptions password_options() {
  RedisServerOptions options;
  options.password = "S3CRET-pw";
  return options;
}

}  // namespace

TEST_CASE("a run nested 150,000 levels deep: list warns and goes on, every other command exits 3 (folder)") {
  FakeLlmServer server;
  CliEnv env(server);
  REQUIRE(env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "good"}).exit_code == 0);
  fs::create_directories(fs::path(env.runs_dir) / "bad");
  REQUIRE(util::write_file_atomic(fs::path(env.runs_dir) / "bad" / "checkpoint.json", k_deep));
  check_list_goes_on(env, "bad", "good");
  check_run_refused(env, "bad");
  auto status = env.run({"status", "bad"});
  CHECK(status.err.find("is corrupt: nested deeper than 256 levels") != std::string::npos);
}

TEST_CASE("a run nested 150,000 levels deep: list warns and goes on, every other command exits 3 (Redis)") {
  FakeLlmServer server;
  RedisServer redis;
  CliEnv env(server);
  use_redis(env, redis);
  REQUIRE(env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "good"}).exit_code == 0);
  plant_redis_run(redis, "bad", "=" + k_deep);
  check_list_goes_on(env, "bad", "good");
  check_run_refused(env, "bad");
}

TEST_CASE("hostile value records and keys in Redis: each a clean exit 3 with one line, never a crash") {
  FakeLlmServer server;
  RedisServer redis;
  CliEnv env(server);
  use_redis(env, redis);
  REQUIRE(env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "good"}).exit_code == 0);
  const checkpoints::RedisKeys keys;
  const std::string sha(64, 'a');

  SUBCASE("targeted checkpoint records") {
    const std::vector<std::string> records = {
        "=" + k_deep,
        "=" + std::string(150000, '{'),
        "*1000000000 1 " + sha + " " + keys.run_chunks("bad") + "x:",
        "*1000000000 524288000000000 " + sha + " " + keys.run_chunks("bad") + "x:",
        "*3 1500000 " + sha + " " + keys.run_chunks("bad") + "missing:",
        "=not json",
        "={\"run_id\":\"bad\"}",
        std::string("=\xff\xfe\x00\x1b[2J", 7),
        "",
    };
    for (const auto& record : records) {
      CAPTURE(record.substr(0, 60));
      plant_redis_run(redis, "bad", record);
      const auto started = std::chrono::steady_clock::now();
      check_one_error_line(env.run({"status", "bad"}), 3);
      check_one_error_line(env.run({"resume", "bad"}), 3);
      CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
      auto list = env.run({"list"});
      CHECK(list.exit_code == 0);
      CHECK(list.out.find("good") != std::string::npos);
    }
  }
  SUBCASE("random records") {
    std::mt19937 generator(1919);
    for (int round = 0; round < 12; ++round) {
      std::string record = round % 2 ? "*" : "=";
      const std::size_t size = generator() % 300;
      for (std::size_t i = 0; i < size; ++i) record.push_back(static_cast<char>("[{\"*0123456789 :}]\xff\x1b"[generator() % 20]));
      CAPTURE(round);
      plant_redis_run(redis, "bad", record);
      check_one_error_line(env.run({"status", "bad"}), 3);
    }
  }
  SUBCASE("keys of the wrong type") {
    redis.command({"DEL", keys.checkpoint("bad")});
    redis.command({"RPUSH", keys.checkpoint("bad"), "x"});
    redis.command({"SADD", keys.runs(), "bad"});
    check_one_error_line(env.run({"status", "bad"}), 3);
    check_one_error_line(env.run({"resume", "bad"}), 3);

    // Events that resume would drop without a word: the run is refused instead.
    redis.command({"DEL", keys.events("good")});
    redis.command({"HSET", keys.events("good"), "a", "b"});
    auto resumed = env.run({"resume", "good"});
    check_one_error_line(resumed, 3);
    CHECK(resumed.err.find("holds a hash, not a list") != std::string::npos);
    redis.command({"DEL", keys.events("good")});

    redis.command({"DEL", keys.files("good")});
    redis.command({"SET", keys.files("good"), "x"});
    check_one_error_line(env.run({"show", "good"}), 3);
  }
  SUBCASE("a lease written without a TTL does not lock the run forever") {
    redis.command({"HSET", keys.lease("good"), "owner", "nobody", "epoch", "99", "pid", "1", "host", "elsewhere"});
    auto status = env.run({"status", "good", "--json"});
    REQUIRE(status.exit_code == 0);
    CHECK(json::parse(status.out).at("live_status") == "completed");
    auto resumed = env.run({"resume", "good"});
    INFO(resumed.err);
    CHECK(resumed.exit_code == 0);
  }
}

TEST_CASE("invalid UTF-8 and control characters from a run never break JSON output or a line") {
  FakeLlmServer server;
  CliEnv env(server);
  REQUIRE(env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "odd"}).exit_code == 0);
  const fs::path path = fs::path(env.runs_dir) / "odd" / "checkpoint.json";
  json checkpoint = env.checkpoint("odd");
  checkpoint["brand"]["id"] = std::string("evil\x1b]0;owned\x07\r\n");
  REQUIRE(util::write_file_atomic(path, checkpoint.dump(2) + "\n"));

  auto list = env.run({"list"});
  INFO(list.err);
  REQUIRE(list.exit_code == 0);
  CHECK(list.out.find('\x1b') == std::string::npos);
  CHECK(list.out.find('\x07') == std::string::npos);
  CHECK(list.out.find('\r') == std::string::npos);
  CHECK(list.out.find("evil\\x1b]0;owned\\x07\\r\\n") != std::string::npos);
  CHECK(std::count(list.out.begin(), list.out.end(), '\n') == 1);
  auto status = env.run({"status", "odd"});
  REQUIRE(status.exit_code == 0);
  CHECK(status.out.find('\x1b') == std::string::npos);
  CHECK(status.out.find("brand  evil\\x1b]0;owned\\x07\\r\\n (") != std::string::npos);
  auto status_json = env.run({"status", "odd", "--json"});
  REQUIRE(status_json.exit_code == 0);
  CHECK(json::parse(status_json.out).at("brand").at("id") == checkpoint["brand"]["id"]);

  // An invalid UTF-8 byte makes the checkpoint invalid JSON: the run is refused,
  // and the listing that names it (with the byte in its error) stays valid JSON.
  auto text = util::read_file(path).value_or_throw();
  const auto at = text.find("evil");
  REQUIRE(at != std::string::npos);
  text.insert(at + 4, "\xff");
  REQUIRE(util::write_file_atomic(path, text));
  check_one_error_line(env.run({"status", "odd"}), 3);
  auto listed = env.run({"list", "--json"});
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.err.find("pipeline: warning: the output held invalid UTF-8, printed as U+FFFD") != std::string::npos);
  REQUIRE(json::accept(listed.out));
  CHECK(json::parse(listed.out).at(0).at("status") == "unreadable");
}

TEST_CASE("traversal ids, FIFOs and /dev/zero are refused at once with one line") {
  FakeLlmServer server;
  CliEnv env(server);
  for (const std::string id : {"../etc", "a/b", "..", "run\x1b[2J"}) {
    CAPTURE(id);
    auto status = env.run({"status", id});
    CHECK(status.term_signal == 0);
    CHECK((status.exit_code == 2 || status.exit_code == 3));
    CHECK(std::count(status.err.begin(), status.err.end(), '\n') == 1);
    CHECK(status.err.find('\x1b') == std::string::npos);
  }
  const std::string fifo = env.dir / "brand.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto started = std::chrono::steady_clock::now();
  for (const std::string& path : {fifo, std::string("/dev/zero")}) {
    CAPTURE(path);
    auto shown = env.run({"brands", "show", path});
    check_one_error_line(shown, 3);
    CHECK(shown.err.find("not a regular file") != std::string::npos);
    check_one_error_line(env.run({"run", example_pdf_path(), "--brand", path}), 3);
  }
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
}

TEST_CASE("a mistyped Redis URL is a usage error that masks the password and makes no folder") {
  FakeLlmServer server;
  CliEnv env(server);
  env.options.cwd = env.dir.path();
  for (const std::string url : {"redis:/default:S3CRET@127.0.0.1:6379/0", "redis//default:S3CRET@127.0.0.1:6379/0",
                                "rediss:/default:S3CRET@127.0.0.1:6380/0", " redis://default:S3CRET@127.0.0.1:6379/0"}) {
    CAPTURE(url);
    for (const std::vector<std::string>& command :
         std::vector<std::vector<std::string>>{{"list"}, {"run", example_pdf_path(), "--brand", env.brand_path}}) {
      std::vector<std::string> args = command;
      args.insert(args.end(), {"--store", url});
      auto result = env.run(args);
      check_one_error_line(result, 2);
      CHECK(result.err.find("S3CRET") == std::string::npos);
      CHECK(result.out.find("S3CRET") == std::string::npos);
    }
    env.options.env["PIPELINE_STORE"] = url;
    check_one_error_line(env.run({"list"}), 2);
    env.options.env.erase("PIPELINE_STORE");
  }
  for (const auto& entry : fs::recursive_directory_iterator(env.dir.path())) {
    CHECK(entry.path().string().find("S3CRET") == std::string::npos);
  }
}

TEST_CASE("--store-file and PIPELINE_STORE_FILE keep the Redis URL off the command line") {
  FakeLlmServer server;
  RedisServer redis(password_options());
  CliEnv env(server);
  env.options.env["PIPELINE_CACHE_DIR"] = "";
  const std::string file = env.dir / "store-url";
  REQUIRE(util::write_file_atomic(file, redis.url() + "\n"));
  auto created = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "filed", "--store-file", file});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  CHECK_FALSE(fs::exists(env.runs_dir));
  env.options.env["PIPELINE_STORE_FILE"] = file;
  auto list = env.run({"list"});
  REQUIRE(list.exit_code == 0);
  CHECK(list.out.find("filed") != std::string::npos);
  CHECK(list.out.find("S3CRET") == std::string::npos);
  env.options.env["PIPELINE_STORE_FILE"] = env.dir / "missing";
  check_one_error_line(env.run({"list"}), 3);
}

TEST_CASE("a password given in --store leaves the process's command line at once") {
  FakeLlmServer server;
  server.set_pace({std::chrono::milliseconds(3000), 0});
  RedisServer redis(password_options());
  CliEnv env(server);
  env.options.env["PIPELINE_CACHE_DIR"] = "";
  auto running = env.start({"run", example_pdf_path(), "--brand", env.brand_path, "--store", redis.url()});
  const std::string cmdline_path = "/proc/" + std::to_string(running.pid()) + "/cmdline";
  std::string cmdline;
  // Once the run has begun its first stage, its arguments are long rewritten.
  REQUIRE(eventually([&] { return redis.command({"SCARD", checkpoints::RedisKeys().runs()}).integer == 1; },
                     std::chrono::seconds(20)));
  auto read = util::read_file(cmdline_path);
  REQUIRE_MESSAGE(read.has_value(), read.error().message);
  cmdline = *read;
  CHECK(cmdline.find("--store") != std::string::npos);
  CHECK(cmdline.find("S3CRET-pw") == std::string::npos);
  CHECK(cmdline.find(":*********@127.0.0.1") != std::string::npos);
  running.send_signal(SIGTERM);
  running.wait();
}

TEST_CASE("an empty --run-id and --max-download-mb 0 are one-line usage errors") {
  FakeLlmServer server;
  CliEnv env(server);
  auto empty_id = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", ""});
  check_one_error_line(empty_id, 2);
  CHECK(empty_id.err.find("--run-id") != std::string::npos);
  CHECK_FALSE(fs::exists(env.runs_dir));
  auto zero = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--max-download-mb", "0"});
  check_one_error_line(zero, 2);
  CHECK(zero.err.find("must be a number above 0") != std::string::npos);
  CHECK(zero.err.size() < 200);
}

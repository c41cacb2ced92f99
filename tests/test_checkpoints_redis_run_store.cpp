#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "checkpoints/redis_run_store.hpp"
#include "lib/redis/chunked_value.hpp"
#include "lib/util/sha256.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/run_states.hpp"

using nlohmann::json;
using namespace pipeline::checkpoints;
using pipeline::redis::Reply;
using pipeline::testing::RedisServer;
using pipeline::util::ErrorKind;
namespace util = pipeline::util;
namespace redis = pipeline::redis;
using namespace std::chrono_literals;

namespace pipeline::testing {
namespace {

std::unique_ptr<RedisRunStore> redis_store_for(const RedisServer& server,
                                               std::chrono::milliseconds lease_ttl = k_default_lease_ttl) {
  RedisStoreOptions options;
  options.connect = server.connect_options();
  options.lease_ttl = lease_ttl;
  return make_redis_run_store(options);
}

std::string redis_store_load_failure(const RunStore& store, const std::string& run_id, int redo_from = 0) {
  auto result = store.load(run_id, redo_from);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::bad_input);
  return result.error().message;
}

void redis_store_require(const util::Expected<void>& result) { REQUIRE_MESSAGE(result.has_value(), result.error().message); }

// The error of a write that must be refused because its lease is gone.
void check_lease_lost(const util::Error& error) {
  CHECK(error.kind == ErrorKind::busy);
  CHECK(error.code == redis::k_lease_lost_code);
}

std::string redis_store_field(const RedisServer& server, const std::string& key, const std::string& field) {
  return server.command({"HGET", key, field}).text;
}

long long redis_cli_lease_count(const RedisServer& server) {
  return static_cast<long long>(server.command({"KEYS", "pipeline:run:*:lease"}).elements.size());
}

}  // namespace
}  // namespace pipeline::testing

using namespace pipeline::testing;

TEST_CASE("create takes the lease; list shows the runs that have a checkpoint, sorted") {
  RedisServer server;
  auto store = redis_store_for(server);
  CHECK(store->list().empty());
  auto b = store->create("b-run");
  REQUIRE_MESSAGE(b.has_value(), b.error().message);
  CHECK((*b)->held());
  CHECK_FALSE(store->exists("b-run"));
  CHECK(store->list().empty());
  auto busy = store->create("b-run");
  REQUIRE_FALSE(busy.has_value());
  CHECK(busy.error().kind == ErrorKind::busy);
  CHECK(busy.error().message.find(fmt::format("leased by pid {} on host", ::getpid())) != std::string::npos);
  redis_store_require(store->save(sample_run_state("b-run")));
  auto a = store->create("a-run");
  REQUIRE(a.has_value());
  redis_store_require(store->save(sample_run_state("a-run")));
  CHECK(store->exists("b-run"));
  CHECK(store->list() == std::vector<std::string>{"a-run", "b-run"});
  CHECK(server.command({"HGET", store->keys().lease("a-run"), "epoch"}).text == "1");
  CHECK(server.command({"PTTL", store->keys().lease("a-run")}).integer > 20000);

  auto invalid = store->create("Bad Id");
  REQUIRE_FALSE(invalid.has_value());
  CHECK(invalid.error().kind == ErrorKind::bad_input);
}

TEST_CASE("creating a run that has a checkpoint is bad input and leaves the run alone") {
  RedisServer server;
  auto store = redis_store_for(server);
  const RunState saved = run_with_two_done_stages(*store, "r1");
  auto again = store->create("r1");
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().kind == ErrorKind::bad_input);
  CHECK(again.error().message == "run r1 exists already");
  auto loaded = store->load("r1");
  REQUIRE_MESSAGE(loaded.has_value(), loaded.error().message);
  CHECK(to_json(*loaded) == to_json(saved));
}

TEST_CASE("what a creation killed before its first checkpoint left is cleared by the next creation") {
  RedisServer server;
  auto store = redis_store_for(server);
  {
    auto first = store->create("r1");
    REQUIRE(first.has_value());
    REQUIRE(store->write_artifact("r1", "input/document.txt", std::string(700 * 1024, 'x')));
    REQUIRE(store->write_artifact("r1", "input/brand.json", "{}"));
    REQUIRE(store->append_event("r1", "{}"));
    // Killed: the lease is never released, it only expires.
    server.command({"DEL", store->keys().lease("r1")});
    first->release();
  }
  CHECK(server.command({"HLEN", store->keys().files("r1")}).integer == 2);
  auto second = store->create("r1");
  REQUIRE_MESSAGE(second.has_value(), second.error().message);
  CHECK(server.command({"EXISTS", store->keys().files("r1")}).integer == 0);
  CHECK(server.command({"EXISTS", store->keys().events("r1")}).integer == 0);
  CHECK(server.command({"KEYS", store->keys().run_chunks("r1") + "*"}).elements.empty());
  CHECK(static_cast<RedisRunLock&>(**second).epoch() == 2);
}

TEST_CASE("a saved run loads back with its artifacts, byte for byte") {
  RedisServer server;
  auto store = redis_store_for(server);
  const RunState saved = run_with_two_done_stages(*store, "r1");
  auto loaded = store->load("r1");
  REQUIRE_MESSAGE(loaded.has_value(), loaded.error().message);
  CHECK(to_json(*loaded) == to_json(saved));
  CHECK(store->read_artifact("r1", "stages/01-mechanisms.json").value_or_throw() == "output of mechanisms.json");
  const std::string binary("\0\x01\xff\r\n", 5);
  auto lock = store->lock("r1");
  REQUIRE(lock.has_value());
  auto ref = store->write_artifact("r1", "stages/bin.dat", binary);
  REQUIRE(ref.has_value());
  CHECK(ref->sha256 == util::sha256_hex(binary));
  CHECK(store->read_artifact("r1", "stages/bin.dat").value_or_throw() == binary);
  auto missing = store->read_artifact("r1", "nope.md");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().kind == ErrorKind::bad_input);
  // The checkpoint is stored as the file store writes it.
  CHECK(server.command({"GET", store->keys().checkpoint("r1")}).text ==
        "=" + to_json(saved).dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

TEST_CASE("writes need this store's lease; save refuses a state that load would refuse") {
  RedisServer server;
  auto store = redis_store_for(server);
  run_with_two_done_stages(*store, "r1");
  auto unleased = store->save(sample_run_state("r1"));
  REQUIRE_FALSE(unleased.has_value());
  CHECK(unleased.error().code == "no_lease");
  CHECK_FALSE(store->write_artifact("r1", "a.md", "x").has_value());
  CHECK_FALSE(store->append_event("r1", "{}").has_value());
  CHECK_FALSE(store->flush("r1").has_value());

  auto lock = store->lock("r1");
  REQUIRE(lock.has_value());
  RunState broken = sample_run_state("r1");
  broken.stages.pop_back();
  auto refused = store->save(broken);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message.find("refusing to save run r1") != std::string::npos);
  CHECK(store->flush("r1").has_value());
  // Another store (another process) holds no lease of its own.
  auto other = redis_store_for(server);
  CHECK(other->save(sample_run_state("r1")).error().code == "no_lease");
}

TEST_CASE("artifact paths stay inside the run") {
  RedisServer server;
  auto store = redis_store_for(server);
  auto lock = store->create("r1");
  REQUIRE(lock.has_value());
  for (const std::string path : {"/etc/passwd", "../x", "a/../../x", "", "checkpoint.json", "events.ndjson"}) {
    CAPTURE(path);
    auto written = store->write_artifact("r1", path, "x");
    REQUIRE_FALSE(written.has_value());
    CHECK(written.error().kind == ErrorKind::bad_input);
    CHECK_FALSE(store->read_artifact("r1", path).has_value());
  }
}

TEST_CASE("loading a run that is not there, or an invalid id, says so") {
  RedisServer server;
  auto store = redis_store_for(server);
  CHECK(redis_store_load_failure(*store, "nope") == "run nope not found in " + server.connect_options().url.masked());
  CHECK(redis_store_load_failure(*store, "../x").find("invalid run id") != std::string::npos);
  auto missing = store->lock("nope");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().kind == ErrorKind::bad_input);
}

TEST_CASE("a corrupt checkpoint is reported and left as it was") {
  RedisServer server;
  auto store = redis_store_for(server);
  run_with_two_done_stages(*store, "r1");
  const std::string key = store->keys().checkpoint("r1");
  const std::string whole = server.command({"GET", key}).text;
  for (const std::size_t size : {std::size_t(1), whole.size() / 3, whole.size() - 3}) {
    CAPTURE(size);
    server.command({"SET", key, whole.substr(0, size)});
    const auto message = redis_store_load_failure(*store, "r1");
    CHECK(message.find("checkpoint of run r1") != std::string::npos);
    CHECK(server.command({"GET", key}).text == whole.substr(0, size));
  }
  server.command({"SET", key, "garbage"});
  redis_store_load_failure(*store, "r1");
  server.command({"SET", key, "=" + json{{"schema_version", 99}}.dump()});
  CHECK(redis_store_load_failure(*store, "r1").find("schema") != std::string::npos);
}

TEST_CASE("an edited or removed artifact of a done stage is reported with the way out") {
  RedisServer server;
  auto store = redis_store_for(server);
  run_with_two_done_stages(*store, "r1");
  const std::string files = store->keys().files("r1");
  server.command({"HSET", files, "stages/02-signals.json", "=edited"});
  CHECK(redis_store_load_failure(*store, "r1") ==
        "artifact stages/02-signals.json of stage 2 was changed or removed (sha256 mismatch); redo the stage with "
        "`pipeline resume r1 --from signals`");
  // A redo of stage 2 does not need it.
  CHECK(store->load("r1", 2).has_value());
  server.command({"HDEL", files, "stages/01-mechanisms.md"});
  CHECK(redis_store_load_failure(*store, "r1", 2) ==
        "artifact stages/01-mechanisms.md of stage 1 was removed (no file " + store->location("r1") +
            "/stages/01-mechanisms.md); redo the stage with `pipeline resume r1 --from mechanisms`");
}

TEST_CASE("an edited input file fails every load; an edited report only loads without a redo") {
  RedisServer server;
  auto store = redis_store_for(server);
  RunState state = run_with_two_done_stages(*store, "r1");
  {
    auto lock = store->lock("r1");
    REQUIRE(lock.has_value());
    state.files.push_back(store->write_artifact("r1", "report.md", "# report").value_or_throw());
    redis_store_require(store->save(state));
  }
  const std::string files = store->keys().files("r1");
  server.command({"HSET", files, "report.md", "=# changed"});
  CHECK(redis_store_load_failure(*store, "r1").find("restore it or run `pipeline resume r1 --from opportunities`") !=
        std::string::npos);
  CHECK(store->load("r1", 5).has_value());
  server.command({"HSET", files, "input/brand.json", "=changed"});
  for (int redo : {0, 1, 5}) {
    CHECK(redis_store_load_failure(*store, "r1", redo).find("it is part of the run's input") != std::string::npos);
  }
}

TEST_CASE("events are appended one line each, in order") {
  RedisServer server;
  auto store = redis_store_for(server);
  auto lock = store->create("r1");
  REQUIRE(lock.has_value());
  redis_store_require(store->append_event("r1", R"({"event":"run_started"})"));
  redis_store_require(store->append_event("r1", R"({"event":"stage_started","stage":1})"));
  CHECK(store->read_events("r1").value_or_throw() ==
        std::vector<std::string>{R"({"event":"run_started"})", R"({"event":"stage_started","stage":1})"});
  CHECK(store->read_events("r1", 1).value_or_throw() ==
        std::vector<std::string>{R"({"event":"stage_started","stage":1})"});
  CHECK(store->read_events("r1", 5).value_or_throw().empty());
  CHECK_FALSE(store->append_event("r1", "two\nlines").has_value());
  CHECK(server.command({"LLEN", store->keys().events("r1")}).integer == 2);
}

TEST_CASE("a 1.5 MB artifact is written in chunks of 512 KiB and read back whole") {
  RedisServer server;
  auto store = redis_store_for(server);
  RunState state = run_with_two_done_stages(*store, "r1");
  auto lock = store->lock("r1");
  REQUIRE(lock.has_value());
  std::string big(1536 * 1024 + 100, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131 + i / 977) % 256);
  auto& stage = state.stage(3);
  stage.status = StageStatus::done;
  stage.artifacts.push_back(store->write_artifact("r1", "stages/03-lessons.json", big).value_or_throw());
  redis_store_require(store->save(state));

  const std::string record = redis_store_field(server, store->keys().files("r1"), "stages/03-lessons.json");
  CHECK(record.rfind(fmt::format("*4 {} {} ", big.size(), util::sha256_hex(big)), 0) == 0);
  const auto chunks = server.command({"KEYS", store->keys().run_chunks("r1") + "*"});
  REQUIRE(chunks.elements.size() == 4);
  for (const auto& chunk : chunks.elements) {
    CHECK(server.command({"STRLEN", chunk.text}).integer <= static_cast<long long>(redis::k_chunk_bytes));
    CHECK(server.command({"PTTL", chunk.text}).integer == -1);  // made permanent by the commit
  }
  CHECK(store->read_artifact("r1", "stages/03-lessons.json").value_or_throw() == big);
  auto loaded = store->load("r1");
  REQUIRE_MESSAGE(loaded.has_value(), loaded.error().message);

  SUBCASE("replacing it deletes the old chunks") {
    stage.artifacts.back() = store->write_artifact("r1", "stages/03-lessons.json", "small now").value_or_throw();
    redis_store_require(store->save(state));
    CHECK(server.command({"KEYS", store->keys().run_chunks("r1") + "*"}).elements.empty());
    CHECK(store->load("r1").has_value());
  }
  SUBCASE("a lost chunk is reported, never read as a shorter value") {
    server.command({"DEL", chunks.elements[1].text});
    auto read = store->read_artifact("r1", "stages/03-lessons.json");
    REQUIRE_FALSE(read.has_value());
    CHECK(read.error().message.find("damaged") != std::string::npos);
    CHECK_FALSE(store->load("r1").has_value());
  }
  SUBCASE("a large checkpoint is chunked too") {
    state.settings["padding"] = std::string(600 * 1024, 'p');
    redis_store_require(store->save(state));
    CHECK(server.command({"GET", store->keys().checkpoint("r1")}).text.rfind("*2 ", 0) == 0);
    auto reloaded = store->load("r1");
    REQUIRE_MESSAGE(reloaded.has_value(), reloaded.error().message);
    CHECK(reloaded->settings["padding"] == state.settings["padding"]);
  }
}

TEST_CASE("fencing: once another process took the run over, every write under the old lease is refused") {
  RedisServer server;
  auto first = redis_store_for(server);
  RunState state = run_with_two_done_stages(*first, "r1");
  auto first_lock = first->lock("r1");
  REQUIRE(first_lock.has_value());
  auto& lease = static_cast<RedisRunLock&>(**first_lock);
  CHECK(lease.epoch() == 2);

  // The lease expires unseen (a stopped process renews nothing): here the
  // key goes at once, well before the holder's next heartbeat would renew it.
  server.command({"DEL", first->keys().lease("r1")});
  auto second = redis_store_for(server);
  auto second_lock = second->lock("r1");
  REQUIRE_MESSAGE(second_lock.has_value(), second_lock.error().message);
  CHECK(static_cast<RedisRunLock&>(**second_lock).epoch() == 3);
  RunState newer = state;
  newer.settings["owner"] = "second";
  redis_store_require(second->save(newer));

  RunState stale = state;
  stale.settings["owner"] = "first";
  auto saved = first->save(stale);
  REQUIRE_FALSE(saved.has_value());
  check_lease_lost(saved.error());
  CHECK(saved.error().message.find("epoch 3 holds it now") != std::string::npos);
  CHECK(util::exit_code(saved.error().kind) == 5);
  auto artifact = first->write_artifact("r1", "stages/01-mechanisms.json", "overwritten");
  REQUIRE_FALSE(artifact.has_value());
  check_lease_lost(artifact.error());
  auto big = first->write_artifact("r1", "stages/01-mechanisms.md", std::string(800 * 1024, 'z'));
  REQUIRE_FALSE(big.has_value());
  check_lease_lost(big.error());
  check_lease_lost(first->append_event("r1", "{}").error());
  check_lease_lost(first->flush("r1").error());

  auto loaded = second->load("r1");
  REQUIRE_MESSAGE(loaded.has_value(), loaded.error().message);
  CHECK(loaded->settings["owner"] == "second");
  CHECK(second->read_artifact("r1", "stages/01-mechanisms.json").value_or_throw() == "output of mechanisms.json");
  CHECK(second->read_events("r1").value_or_throw().empty());

  // Releasing the lost lease leaves the new owner's lease alone.
  redis_store_require(lease.release());
  CHECK(server.command({"HGET", first->keys().lease("r1"), "epoch"}).text == "3");
}

TEST_CASE("fencing: a process stopped past its lease's TTL has its save refused after SIGCONT") {
  RedisServer server;
  auto store = redis_store_for(server, 600ms);
  RunState state = run_with_two_done_stages(*store, "r1");
  int go[2];
  int done[2];
  REQUIRE(::pipe(go) == 0);
  REQUIRE(::pipe(done) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(go[1]);
    ::close(done[0]);
    auto own = redis_store_for(server, 600ms);
    auto lock = own->lock("r1");
    char result = lock ? 'L' : 'E';
    if (::write(done[1], &result, 1) != 1) ::_exit(2);
    char ignored = 0;
    if (::read(go[0], &ignored, 1) != 1) ::_exit(2);
    RunState stale = state;
    stale.settings["owner"] = "stopped";
    auto saved = own->save(stale);
    result = saved ? 'S' : (saved.error().code == redis::k_lease_lost_code ? 'R' : 'E');
    if (::write(done[1], &result, 1) != 1) ::_exit(2);
    ::_exit(0);
  }
  ::close(go[0]);
  ::close(done[1]);
  char status = 0;
  REQUIRE(::read(done[0], &status, 1) == 1);
  REQUIRE(status == 'L');
  // While it runs, its heartbeat keeps the lease past its TTL.
  std::this_thread::sleep_for(1000ms);
  CHECK_FALSE(store->lock("r1").has_value());

  ::kill(child, SIGSTOP);
  std::unique_ptr<RunLock> taken;
  CHECK(eventually(
      [&] {
        auto lock = store->lock("r1");
        if (lock) taken = std::move(*lock);
        return taken != nullptr;
      },
      3s));
  REQUIRE(taken);
  RunState newer = state;
  newer.settings["owner"] = "taker";
  redis_store_require(store->save(newer));

  ::kill(child, SIGCONT);
  REQUIRE(::write(go[1], "g", 1) == 1);
  REQUIRE(::read(done[0], &status, 1) == 1);
  CHECK(status == 'R');
  int exit_status = 0;
  ::waitpid(child, &exit_status, 0);
  ::close(go[1]);
  ::close(done[0]);
  CHECK(store->load("r1").value_or_throw().settings["owner"] == "taker");
  CHECK(taken->held());
}

TEST_CASE("lock_holder reads the lease: its holder while held, nobody once released") {
  RedisServer server;
  auto store = redis_store_for(server);
  run_with_two_done_stages(*store, "r1");
  CHECK_FALSE(store->lock_holder("r1").has_value());
  auto lock = store->lock("r1");
  REQUIRE(lock.has_value());
  auto holder = store->lock_holder("r1");
  REQUIRE(holder.has_value());
  CHECK(holder->find(fmt::format("pid {} on host", ::getpid())) == 0);
  CHECK(holder->find("lease epoch 2") != std::string::npos);
  lock->reset();
  CHECK_FALSE(store->lock_holder("r1").has_value());
  CHECK(redis_cli_lease_count(server) == 0);
}

TEST_CASE("batches and brands go both ways; location shows the URL without its password") {
  RedisServerOptions options;
  options.password = "store-Secret-5";
  RedisServer server(options);
  auto store = redis_store_for(server);
  BatchManifest manifest;
  manifest.batch_id = "batch-1";
  manifest.inputs = {"a.pdf"};
  manifest.brands = {"acme"};
  manifest.runs = {{"run-a", "a.pdf", "acme"}};
  CHECK_FALSE(store->batch_exists("batch-1"));
  redis_store_require(store->save_batch(manifest));
  CHECK(store->batch_exists("batch-1"));
  CHECK(to_json(store->load_batch("batch-1").value_or_throw()) == to_json(manifest));
  CHECK(store->load_batch("batch-2").error().kind == ErrorKind::bad_input);

  CHECK_FALSE(store->find_brand("acme").value_or_throw().has_value());
  redis_store_require(store->save_brand("acme", R"({"id":"acme"})"));
  CHECK(store->find_brand("acme").value_or_throw() == std::optional<std::string>(R"({"id":"acme"})"));
  CHECK(server.command({"SISMEMBER", store->keys().brands(), "acme"}).integer == 1);
  redis_store_require(store->save_brand("zest", R"({"id":"zest"})"));
  CHECK(store->list_brands() == std::vector<std::string>{"acme", "zest"});

  CHECK(store->location("r1") == fmt::format("redis://:***@127.0.0.1:{}/0#r1", server.port()));
}

TEST_CASE("Redis out of reach: transient errors, and the methods without an error channel throw") {
  RedisServer server;
  auto store = redis_store_for(server);
  run_with_two_done_stages(*store, "r1");
  server.kill();
  auto loaded = store->load("r1");
  REQUIRE_FALSE(loaded.has_value());
  CHECK(loaded.error().kind == ErrorKind::transient);
  CHECK(util::exit_code(loaded.error().kind) == 75);
  CHECK_THROWS_AS(store->exists("r1"), util::FatalError);
  CHECK_THROWS_AS(store->list(), util::FatalError);
  CHECK_FALSE(store->lock("r1").has_value());
}

namespace {

// Every key of run `run_id` but its lease, with the run's job hashes.
std::vector<std::string> redis_store_run_keys(const RedisServer& server, const std::string& run_id) {
  std::vector<std::string> keys;
  for (const auto& key : server.command({"KEYS", "pipeline:run:" + run_id + ":*"}).elements) {
    if (key.text != "pipeline:run:" + run_id + ":lease") keys.push_back(key.text);
  }
  for (const auto& key : {"pipeline:job:" + run_id, "pipeline:status:" + run_id}) {
    if (server.command({"EXISTS", key}).integer == 1) keys.push_back(key);
  }
  return keys;
}

// A run with a chunked artifact, events, and job and status hashes.
void redis_store_finished_run(RunStore& store, const RedisServer& server, const std::string& run_id,
                              std::unique_ptr<RunLock>* lock) {
  run_with_two_done_stages(store, run_id, lock);
  auto written = store.write_artifact(run_id, "big.bin", std::string(1'300'000, 'x'));
  REQUIRE_MESSAGE(written.has_value(), written.error().message);
  redis_store_require(store.append_event(run_id, R"({"event":"run_done"})"));
  server.command({"HSET", "pipeline:job:" + run_id, "run_id", run_id, "state", "done"});
  server.command({"HSET", "pipeline:status:" + run_id, "status", "completed"});
}

}  // namespace

TEST_CASE("expire_run gives every key of a run one expiry; the next lock takes it away again") {
  RedisServer server;
  auto store = redis_store_for(server);
  std::unique_ptr<RunLock> lock;
  redis_store_finished_run(*store, server, "r1", &lock);
  const auto keys = redis_store_run_keys(server, "r1");
  // checkpoint, files, events, epoch, three chunks, job and status
  REQUIRE(keys.size() >= 9);
  CHECK_FALSE(store->expiry("r1")->has_value());

  redis_store_require(store->expire_run("r1", 60s));
  for (const auto& key : keys) {
    CAPTURE(key);
    const long long left = server.command({"PTTL", key}).integer;
    CHECK(left > 50'000);
    CHECK(left <= 60'000);
  }
  REQUIRE(store->expiry("r1")->has_value());
  CHECK(**store->expiry("r1") > 50s);
  CHECK_FALSE(server.command({"ZSCORE", "pipeline:runs:expiring", "r1"}).is_nil());

  lock.reset();
  auto again = store->lock("r1");
  REQUIRE(again.has_value());
  for (const auto& key : keys) {
    CAPTURE(key);
    CHECK(server.command({"PTTL", key}).integer == -1);
  }
  CHECK(server.command({"ZSCORE", "pipeline:runs:expiring", "r1"}).is_nil());
  CHECK(store->load("r1").has_value());
}

TEST_CASE("an expired run goes whole: no key outlives the others, and list forgets it") {
  RedisServer server;
  auto store = redis_store_for(server);
  std::unique_ptr<RunLock> lock;
  redis_store_finished_run(*store, server, "r1", &lock);
  run_with_two_done_stages(*store, "r2");
  redis_store_require(store->expire_run("r1", 400ms));
  lock.reset();
  CHECK(store->list() == std::vector<std::string>{"r1", "r2"});
  CHECK(eventually([&] { return server.command({"EXISTS", "pipeline:run:r1:checkpoint"}).integer == 0; }, 5s));
  CHECK(redis_store_run_keys(server, "r1").empty());
  CHECK(store->list() == std::vector<std::string>{"r2"});
  CHECK(server.command({"SISMEMBER", "pipeline:runs", "r1"}).integer == 0);
  CHECK(server.command({"ZCARD", "pipeline:runs:expiring"}).integer == 0);
  CHECK(store->load("r2").has_value());
}

TEST_CASE("expire_run and remove need this store's lease") {
  RedisServer server;
  auto store = redis_store_for(server);
  run_with_two_done_stages(*store, "r1");
  auto expired = store->expire_run("r1", 60s);
  REQUIRE_FALSE(expired.has_value());
  CHECK(expired.error().message.find("holds no lease") != std::string::npos);
  auto removed = store->remove("r1");
  REQUIRE_FALSE(removed.has_value());
  CHECK(store->exists("r1"));
  CHECK(server.command({"PTTL", "pipeline:run:r1:checkpoint"}).integer == -1);
}

TEST_CASE("footprint counts a run's keys and chunks; remove deletes all of them at once") {
  RedisServer server;
  auto store = redis_store_for(server);
  std::unique_ptr<RunLock> lock;
  run_with_two_done_stages(*store, "small", &lock);
  const auto small = store->footprint("small");
  REQUIRE(small.has_value());
  std::unique_ptr<RunLock> big_lock;
  redis_store_finished_run(*store, server, "big", &big_lock);
  const auto big = store->footprint("big");
  REQUIRE(big.has_value());
  // The chunks of the 1.3 MB artifact are counted.
  CHECK(*big > 1'300'000);
  CHECK(*small > 0);
  CHECK(*small < 100'000);

  redis_store_require(store->remove("big"));
  CHECK(redis_store_run_keys(server, "big").empty());
  CHECK(server.command({"EXISTS", "pipeline:run:big:lease"}).integer == 0);
  CHECK(store->list() == std::vector<std::string>{"small"});
  auto gone = store->footprint("big");
  REQUIRE(gone.has_value());
  CHECK(*gone == 0);
}

#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "checkpoints/file_run_store.hpp"
#include "lib/util/file_io.hpp"
#include "lib/util/sha256.hpp"
#include "tests/support/process.hpp"
#include "tests/support/run_states.hpp"

using nlohmann::json;
using namespace pipeline::checkpoints;
using pipeline::testing::TempDir;
using pipeline::util::ErrorKind;
namespace fs = std::filesystem;
namespace util = pipeline::util;

namespace pipeline::testing {
namespace {


std::string slurp(const fs::path& path) {
  auto text = util::read_file(path);
  REQUIRE_MESSAGE(text.has_value(), text.error().message);
  return *text;
}

void overwrite(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  REQUIRE(out.good());
}

// Rewrites a file's bytes without truncating it first (same size), which is
// much faster than a truncating rewrite on ext4.
void overwrite_in_place(const fs::path& path, const std::string& content) {
  std::fstream out(path, std::ios::binary | std::ios::in | std::ios::out);
  out << content;
  REQUIRE(out.good());
}

std::string load_failure(const RunStore& store, const std::string& run_id) {
  util::Expected<RunState> result = RunState{};
  REQUIRE_NOTHROW(result = store.load(run_id));
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::bad_input);
  return result.error().message;
}

std::string this_host() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

// A forked child that takes the run's lock (by lock(), or by create() when
// `creating`), reports it on a pipe and then waits until it is killed.
class LockHolder {
 public:
  LockHolder(const fs::path& root, const std::string& run_id, bool creating = false) {
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    int hold[2];
    REQUIRE(::pipe(hold) == 0);
    m_pid = ::fork();
    REQUIRE(m_pid >= 0);
    if (m_pid == 0) {
      ::close(ready[0]);
      ::close(hold[1]);
      auto store = make_file_run_store(root);
      auto lock = creating ? store->create(run_id) : store->lock(run_id);
      const char status = lock ? 'L' : 'E';
      if (::write(ready[1], &status, 1) != 1) ::_exit(2);
      char ignored;
      while (::read(hold[0], &ignored, 1) != 0) {
      }
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(hold[0]);
    m_hold = hold[1];
    char status = 0;
    REQUIRE(::read(ready[0], &status, 1) == 1);
    ::close(ready[0]);
    REQUIRE(status == 'L');
  }
  ~LockHolder() {
    kill();
    ::close(m_hold);
  }
  pid_t pid() const { return m_pid; }
  void kill() {
    if (m_pid <= 0) return;
    ::kill(m_pid, SIGKILL);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
  }

 private:
  pid_t m_pid = -1;
  int m_hold = -1;
};

}  // namespace
}  // namespace pipeline::testing

using namespace pipeline::testing;

TEST_CASE("create makes a run folder, holding its lock, and list shows runs with a checkpoint, sorted") {
  TempDir temp;
  const fs::path root = fs::path(temp.path()) / "runs";
  auto store = make_file_run_store(root);
  CHECK(store->list().empty());
  CHECK_FALSE(store->exists("b-run"));
  {
    auto created = store->create("b-run");
    REQUIRE_MESSAGE(created.has_value(), created.error().message);
    CHECK(fs::is_directory(root / "b-run"));
    CHECK(json::parse(slurp(root / "b-run/.lock"))["pid"] == ::getpid());
    auto second = store->lock("b-run");
    REQUIRE_FALSE(second);
    CHECK(second.error().kind == ErrorKind::busy);
    CHECK_FALSE(store->exists("b-run"));  // no checkpoint yet
    CHECK(store->location("b-run") == (root / "b-run").string());
    CHECK(store->list().empty());
    REQUIRE(store->save(sample_run_state("b-run")));
    CHECK(store->exists("b-run"));
  }
  CHECK(store->lock("b-run").has_value());

  auto bad = store->create("../escape");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().kind == ErrorKind::bad_input);
  CHECK(bad.error().message.find("invalid run id \"../escape\"") == 0);
  CHECK_FALSE(fs::exists(fs::path(temp.path()) / "escape"));

  REQUIRE(store->create("a-run"));
  REQUIRE(store->save(sample_run_state("a-run")));
  REQUIRE(store->create("c-run"));
  fs::create_directories(root / "Not-A-Run");
  overwrite(root / "Not-A-Run" / "checkpoint.json", "{}");
  overwrite(root / "stray-file", "x");
  CHECK(store->list() == std::vector<std::string>{"a-run", "b-run"});

  auto on_a_file = store->create("stray-file");
  REQUIRE_FALSE(on_a_file);
  CHECK(on_a_file.error().kind == ErrorKind::bad_input);
  CHECK(slurp(root / "stray-file") == "x");
}

TEST_CASE("creating a run that has a checkpoint is bad input and leaves the run alone") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  run_with_two_done_stages(*store, "r1");
  const std::string checkpoint = slurp(fs::path(temp.path()) / "r1/checkpoint.json");
  auto again = store->create("r1");
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == ErrorKind::bad_input);
  CHECK(again.error().message == "run r1 exists already");
  CHECK(slurp(fs::path(temp.path()) / "r1/checkpoint.json") == checkpoint);
  CHECK(store->load("r1").has_value());
  CHECK(store->lock("r1").has_value());  // create let go of nothing it did not hold
}

TEST_CASE("a folder left by a creation that was killed before its first checkpoint is reclaimed") {
  TempDir temp;
  const fs::path dir = fs::path(temp.path()) / "r1";
  fs::create_directories(dir / "input/prompts");
  overwrite(dir / "input/document.txt", "half an ingestion");
  overwrite(dir / "input/prompts/mechanisms.prompt", "p");
  overwrite(dir / ".checkpoint.json.tmp-77-ab", "{\"torn");
  overwrite(dir / ".lock", R"({"pid":999999999,"host":"gone"})" "\n");
  auto store = make_file_run_store(temp.path());
  CHECK_FALSE(store->exists("r1"));
  CHECK(store->list().empty());

  auto created = store->create("r1");
  REQUIRE_MESSAGE(created.has_value(), created.error().message);
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir)) left.push_back(entry.path().filename().string());
  CHECK(left == std::vector<std::string>{".lock"});
  CHECK(json::parse(slurp(dir / ".lock"))["pid"] == ::getpid());
  CHECK_FALSE(store->lock("r1").has_value());  // still held by the creator
  REQUIRE(store->save(sample_run_state("r1")));
  CHECK(store->exists("r1"));
}

TEST_CASE("a run that another process is creating is busy, and reclaimed once that process died") {
  TempDir temp;
  const fs::path root = temp.path();
  auto store = make_file_run_store(root);
  LockHolder creator(root, "r1", true);
  CHECK(fs::is_directory(root / "r1"));
  CHECK_FALSE(store->exists("r1"));
  auto busy = store->create("r1");
  REQUIRE_FALSE(busy);
  CHECK(busy.error().kind == ErrorKind::busy);
  CHECK(busy.error().message ==
        "run r1 is busy: locked by pid " + std::to_string(creator.pid()) + " on host " + this_host());

  creator.kill();
  auto reclaimed = store->create("r1");
  REQUIRE_MESSAGE(reclaimed.has_value(), reclaimed.error().message);
  CHECK(json::parse(slurp(root / "r1/.lock"))["pid"] == ::getpid());
}

TEST_CASE("a saved run loads back with its artifacts") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  const RunState saved = run_with_two_done_stages(*store, "r1");
  auto loaded = store->load("r1");
  REQUIRE_MESSAGE(loaded.has_value(), loaded.error().message);
  CHECK(to_json(*loaded) == to_json(saved));

  const std::string text = slurp(fs::path(temp.path()) / "r1" / "checkpoint.json");
  CHECK(text.back() == '\n');
  CHECK(json::parse(text) == to_json(saved));

  auto artifact = store->read_artifact("r1", "stages/02-signals.md");
  REQUIRE(artifact.has_value());
  CHECK(*artifact == "output of signals.md");
  CHECK(saved.stage(2).artifacts[1].sha256 == util::sha256_hex("output of signals.md"));

  // Only the final files are left: no temporaries.
  for (const auto& entry : fs::recursive_directory_iterator(temp.path())) {
    CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);
  }
}

TEST_CASE("save refuses a state that load would refuse, and a run that was never created") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  REQUIRE(store->create("r1"));
  RunState state = sample_run_state("r1");
  state.stages.pop_back();
  auto refused = store->save(state);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("field stages must hold exactly 5 stages, not 4") != std::string::npos);
  CHECK_FALSE(fs::exists(fs::path(temp.path()) / "r1" / "checkpoint.json"));

  auto missing = store->save(sample_run_state("never-created"));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("does not exist") != std::string::npos);
}

TEST_CASE("artifact paths stay inside the run") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  REQUIRE(store->create("r1"));
  for (const char* path : {"../outside.md", "/tmp/abs.md", "stages/../../x", "checkpoint.json", ".lock", ""}) {
    CAPTURE(path);
    auto written = store->write_artifact("r1", path, "x");
    REQUIRE_FALSE(written);
    CHECK(written.error().kind == ErrorKind::bad_input);
    auto read = store->read_artifact("r1", path);
    CHECK_FALSE(read);
  }
  CHECK_FALSE(fs::exists(fs::path(temp.path()) / "outside.md"));
  auto nested = store->write_artifact("r1", "input/prompts/mechanisms.prompt", "prompt");
  REQUIRE(nested);
  CHECK(slurp(fs::path(temp.path()) / "r1/input/prompts/mechanisms.prompt") == "prompt");
  CHECK_FALSE(store->write_artifact("nope", "a.md", "x"));
}

TEST_CASE("loading a run that is not there says so") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  CHECK(load_failure(*store, "nope") == "run nope not found in " + temp.path());
  REQUIRE(store->create("empty"));
  CHECK(load_failure(*store, "empty").find("run empty not found in " + temp.path()) == 0);
  CHECK(load_failure(*store, "../etc").find("invalid run id") == 0);
}

TEST_CASE("a checkpoint truncated anywhere is reported as corrupt and left byte-identical") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  run_with_two_done_stages(*store, "r1");
  const fs::path path = fs::path(temp.path()) / "r1" / "checkpoint.json";
  const std::string whole = slurp(path);
  REQUIRE(whole.size() > 1000);
  // Cut the file shorter and shorter, as a torn write would leave it: without
  // its trailing newline it still loads; every shorter prefix is cut JSON.
  REQUIRE(::truncate(path.c_str(), static_cast<off_t>(whole.size() - 1)) == 0);
  CHECK(store->load("r1").has_value());
  for (std::size_t size = whole.size() - 2;; --size) {
    REQUIRE(::truncate(path.c_str(), static_cast<off_t>(size)) == 0);
    const std::string message = load_failure(*store, "r1");
    if (message.find("is corrupt") == std::string::npos || message.find(path.string()) == std::string::npos ||
        message.find("left untouched") == std::string::npos) {
      FAIL_CHECK("unclear message at size " << size << ": " << message);
    }
    if (slurp(path) != whole.substr(0, size)) FAIL_CHECK("checkpoint changed by load at size " << size);
    if (size == 0) break;
  }
  overwrite(path, whole.substr(0, whole.size() / 2));
  const std::string half = load_failure(*store, "r1");
  CHECK(half.find("parse error at line") != std::string::npos);
  CHECK(half.find(fmt::format("(at byte {} of {})", whole.size() / 2, whole.size() / 2)) != std::string::npos);
}

TEST_CASE("a checkpoint with random bytes changed never crashes load and is never rewritten") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  run_with_two_done_stages(*store, "r1");
  const fs::path path = fs::path(temp.path()) / "r1" / "checkpoint.json";
  const std::string whole = slurp(path);
  std::mt19937 random(777);
  for (int round = 0; round < 400; ++round) {
    std::string damaged = whole;
    for (int i = 0; i < 1 + round % 4; ++i) damaged[random() % damaged.size()] = static_cast<char>(random() % 256);
    overwrite_in_place(path, damaged);
    util::Expected<RunState> result = RunState{};
    REQUIRE_NOTHROW(result = store->load("r1"));
    if (!result) CHECK(result.error().kind == ErrorKind::bad_input);
    if (slurp(path) != damaged) FAIL_CHECK("checkpoint changed by load in round " << round);
  }
}

TEST_CASE("schema problems are reported with the file's path") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  const RunState state = run_with_two_done_stages(*store, "r1");
  const fs::path path = fs::path(temp.path()) / "r1" / "checkpoint.json";

  json document = to_json(state);
  document["schema_version"] = 2;
  const std::string future = document.dump(2);
  overwrite(path, future);
  const std::string message = load_failure(*store, "r1");
  CHECK(message.find("checkpoint schema version 2 is not supported by this pipeline (expects 1)") == 0);
  CHECK(message.find(path.string()) != std::string::npos);
  CHECK(slurp(path) == future);

  document = to_json(state);
  document["run_id"] = "other-run";
  overwrite(path, document.dump());
  CHECK(load_failure(*store, "r1").find("names run \"other-run\", not \"r1\"") != std::string::npos);
}

TEST_CASE("an edited or removed artifact of a done stage is reported with the way out") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  RunState state = run_with_two_done_stages(*store, "r1");
  const fs::path dir = fs::path(temp.path()) / "r1";
  const std::string checkpoint = slurp(dir / "checkpoint.json");

  overwrite(dir / "stages/02-signals.json", "edited by hand");
  CHECK(load_failure(*store, "r1") ==
        "artifact stages/02-signals.json of stage 2 was changed or removed (sha256 mismatch); redo the stage with "
        "`pipeline resume r1 --from signals`");
  CHECK(slurp(dir / "checkpoint.json") == checkpoint);

  overwrite(dir / "stages/02-signals.json", "output of signals.json");
  CHECK(store->load("r1").has_value());

  fs::remove(dir / "stages/01-mechanisms.md");
  const std::string removed = load_failure(*store, "r1");
  CHECK(removed.find("artifact stages/01-mechanisms.md of stage 1 was removed") == 0);
  CHECK(removed.find("`pipeline resume r1 --from mechanisms`") != std::string::npos);

  // Artifacts of stages that are not done are not checked.
  state.stage(1).status = StageStatus::stale;
  REQUIRE(store->save(state));
  CHECK(store->load("r1").has_value());
}

TEST_CASE("an edited or removed input file of the run fails every load, redo or not") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  run_with_two_done_stages(*store, "r1");
  const fs::path dir = fs::path(temp.path()) / "r1";
  const std::string expected =
      "file input/document.txt of run r1 was changed or removed (sha256 mismatch); it is part of the run's input: "
      "create a new run";

  overwrite(dir / "input/document.txt", "a different document");
  CHECK(load_failure(*store, "r1") == expected);
  for (int redo_from = 1; redo_from <= 5; ++redo_from) {
    CAPTURE(redo_from);
    auto loaded = store->load("r1", redo_from);
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().message == expected);
  }
  overwrite(dir / "input/document.txt", "content of input/document.txt");
  CHECK(store->load("r1").has_value());

  fs::remove(dir / "input/prompts/mechanisms.prompt");
  CHECK(load_failure(*store, "r1") ==
        "file input/prompts/mechanisms.prompt of run r1 was changed or removed (sha256 mismatch); it is part of the "
        "run's input: create a new run");
}

TEST_CASE("an edited report.md is reported with its way out, which a redo takes") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  RunState state = run_with_two_done_stages(*store, "r1");
  auto report = store->write_artifact("r1", "report.md", "# Report");
  REQUIRE(report);
  state.files.push_back(*report);
  REQUIRE(store->save(state));
  CHECK(store->load("r1").has_value());

  overwrite(fs::path(temp.path()) / "r1/report.md", "# Report, edited");
  CHECK(load_failure(*store, "r1") ==
        "file report.md of run r1 was changed or removed (sha256 mismatch); restore it or run `pipeline resume r1 "
        "--from opportunities`");
  CHECK(store->load("r1", 5).has_value());
  CHECK(store->load("r1", 1).has_value());
}

TEST_CASE("load skips the artifacts of the stages about to be redone and only those") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  run_with_two_done_stages(*store, "r1");
  overwrite(fs::path(temp.path()) / "r1/stages/02-signals.md", "edited by hand");
  const std::string expected =
      "artifact stages/02-signals.md of stage 2 was changed or removed (sha256 mismatch); redo the stage with "
      "`pipeline resume r1 --from signals`";
  CHECK(load_failure(*store, "r1") == expected);
  for (int redo_from : {3, 4, 5, 6, -1}) {
    CAPTURE(redo_from);
    auto loaded = store->load("r1", redo_from);
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().message == expected);
  }
  for (int redo_from : {2, 1}) {
    CAPTURE(redo_from);
    auto loaded = store->load("r1", redo_from);
    REQUIRE_MESSAGE(loaded.has_value(), loaded.error().message);
    CHECK(loaded->stage(2).status == StageStatus::done);  // the caller decides what to redo
  }

  fs::remove(fs::path(temp.path()) / "r1/stages/01-mechanisms.json");
  CHECK(store->load("r1", 1).has_value());
  auto from_two = store->load("r1", 2);
  REQUIRE_FALSE(from_two);
  CHECK(from_two.error().message.find("artifact stages/01-mechanisms.json of stage 1 was removed") == 0);
}

TEST_CASE("events are appended one line each") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  REQUIRE(store->create("r1"));
  REQUIRE(store->append_event("r1", R"({"event":"run_started"})"));
  REQUIRE(store->append_event("r1", R"({"event":"stage_started","stage":1})"));
  CHECK(slurp(fs::path(temp.path()) / "r1/events.ndjson") ==
        "{\"event\":\"run_started\"}\n{\"event\":\"stage_started\",\"stage\":1}\n");
  CHECK_FALSE(store->append_event("r1", "two\nlines"));
  CHECK_FALSE(store->append_event("missing", "{}"));
}

TEST_CASE("events are read back from any line on, without a line still being written") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  CHECK(store->read_events("r1").value_or_throw().empty());
  REQUIRE(store->create("r1"));
  CHECK(store->read_events("r1").value_or_throw().empty());
  REQUIRE(store->append_event("r1", "one"));
  REQUIRE(store->append_event("r1", "two"));
  REQUIRE(store->append_event("r1", "three"));
  CHECK(store->read_events("r1").value_or_throw() == std::vector<std::string>{"one", "two", "three"});
  CHECK(store->read_events("r1", 2).value_or_throw() == std::vector<std::string>{"three"});
  CHECK(store->read_events("r1", 7).value_or_throw().empty());
  // A writer cut off mid-line leaves a tail that is not an event yet.
  std::ofstream(fs::path(temp.path()) / "r1/events.ndjson", std::ios::app) << "fou";
  CHECK(store->read_events("r1", 1).value_or_throw() == std::vector<std::string>{"two", "three"});
  CHECK(store->read_events("../x").error().kind == ErrorKind::bad_input);
}

TEST_CASE("nothing is written or read through a symbolic link planted inside a run") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  run_with_two_done_stages(*store, "r1");
  const fs::path run = fs::path(temp.path()) / "r1";
  const fs::path outside = fs::path(temp.path()) / "outside";
  fs::create_directories(outside);
  REQUIRE(util::write_file_atomic(outside / "events.ndjson", "kept\n"));

  SUBCASE("events.ndjson as a link: no event lands outside") {
    fs::create_symlink(outside / "events.ndjson", run / "events.ndjson");
    auto appended = store->append_event("r1", "{}");
    REQUIRE_FALSE(appended);
    CHECK(appended.error().kind == ErrorKind::bad_input);
    CHECK(slurp(outside / "events.ndjson") == "kept\n");
  }
  SUBCASE("a folder of the run as a link: no artifact lands outside, and the run is refused") {
    fs::create_symlink(outside, run / "cards");
    auto written = store->write_artifact("r1", "cards/card-1.md", "card");
    REQUIRE_FALSE(written);
    CHECK(written.error().kind == ErrorKind::bad_input);
    CHECK(written.error().message.find("is a symbolic link inside run folder") != std::string::npos);
    CHECK_FALSE(fs::exists(outside / "card-1.md"));
    CHECK_FALSE(store->read_artifact("r1", "cards/card-1.md"));

    fs::remove_all(run / "stages");
    fs::create_symlink(outside, run / "stages");
    const auto message = load_failure(*store, "r1");
    CHECK(message.find("is a symbolic link inside run folder") != std::string::npos);
  }
  SUBCASE("the checkpoint as a link is refused, not followed") {
    fs::rename(run / "checkpoint.json", outside / "checkpoint.json");
    fs::create_symlink(outside / "checkpoint.json", run / "checkpoint.json");
    CHECK(load_failure(*store, "r1").find("checkpoint.json is a symbolic link") != std::string::npos);
  }
  SUBCASE("a checkpoint that is a FIFO is refused at once") {
    fs::remove(run / "checkpoint.json");
    REQUIRE(::mkfifo((run / "checkpoint.json").c_str(), 0600) == 0);
    CHECK(load_failure(*store, "r1").find("is a FIFO, not a regular file") != std::string::npos);
  }
}

TEST_CASE("a checkpoint nested 150,000 levels deep is corrupt, not a crash") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  run_with_two_done_stages(*store, "r1");
  overwrite(fs::path(temp.path()) / "r1" / "checkpoint.json", std::string(150000, '[') + std::string(150000, ']'));
  const auto message = load_failure(*store, "r1");
  CHECK(message.find("is corrupt: nested deeper than 256 levels") != std::string::npos);
  CHECK(message.find('\n') == std::string::npos);
}

TEST_CASE("a lock held by another process makes the run busy until that process dies") {
  TempDir temp;
  const fs::path root = temp.path();
  auto store = make_file_run_store(root);
  REQUIRE(store->create("r1"));
  {
    LockHolder holder(root, "r1");
    auto second = store->lock("r1");
    REQUIRE_FALSE(second);
    CHECK(second.error().kind == ErrorKind::busy);
    CHECK(util::exit_code(second.error().kind) == 5);
    CHECK(second.error().message ==
          "run r1 is busy: locked by pid " + std::to_string(holder.pid()) + " on host " + this_host());

    holder.kill();
    // The killed holder's record is still in the file, but the kernel released its flock.
    CHECK(slurp(root / "r1/.lock").find("\"pid\":") != std::string::npos);
    auto after = store->lock("r1");
    REQUIRE_MESSAGE(after.has_value(), after.error().message);
    CHECK(json::parse(slurp(root / "r1/.lock"))["pid"] == ::getpid());
  }
  CHECK(slurp(root / "r1/.lock").empty());
}

TEST_CASE("one process cannot take the same lock twice, and a released lock can be taken again") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  REQUIRE(store->create("r1"));
  auto first = store->lock("r1");
  REQUIRE(first);
  auto second = store->lock("r1");
  REQUIRE_FALSE(second);
  CHECK(second.error().message.find("locked by pid " + std::to_string(::getpid())) != std::string::npos);
  first->reset();
  CHECK(store->lock("r1").has_value());

  overwrite(fs::path(temp.path()) / "r1/.lock", "garbage left by an old version");
  CHECK(store->lock("r1").has_value());

  auto missing = store->lock("nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::bad_input);
}

TEST_CASE("lock_holder names a live holder, and nobody once it died or let go") {
  TempDir temp;
  const fs::path root = temp.path();
  auto store = make_file_run_store(root);
  REQUIRE(store->create("r1"));
  const fs::path lock_file = root / "r1/.lock";
  CHECK(slurp(lock_file).empty());
  CHECK_FALSE(store->lock_holder("r1").has_value());
  CHECK_FALSE(store->lock_holder("missing").has_value());
  CHECK_FALSE(store->lock_holder("../etc").has_value());

  LockHolder holder(root, "r1");
  const std::string record = slurp(lock_file);
  const std::string expected = "pid " + std::to_string(holder.pid()) + " on host " + this_host();
  CHECK(store->lock_holder("r1") == expected);
  CHECK(store->lock_holder("r1") == expected);  // asking twice changes nothing
  CHECK(slurp(lock_file) == record);
  CHECK_FALSE(store->lock("r1").has_value());  // the child still holds it

  holder.kill();
  CHECK(slurp(lock_file) == record);  // its record outlives it
  CHECK_FALSE(store->lock_holder("r1").has_value());

  fs::remove(lock_file);
  CHECK_FALSE(store->lock_holder("r1").has_value());
}

TEST_CASE("lock_holder only reads the lock file and trusts a holder on another host") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  REQUIRE(store->create("r1"));
  const fs::path lock_file = fs::path(temp.path()) / "r1/.lock";

  // A record of this live process with no flock behind it: were lock_holder
  // to take and release the lock, the release would empty the file.
  const std::string mine = json{{"pid", ::getpid()}, {"host", this_host()}}.dump() + "\n";
  overwrite(lock_file, mine);
  CHECK(store->lock_holder("r1") == "pid " + std::to_string(::getpid()) + " on host " + this_host());
  CHECK(slurp(lock_file) == mine);

  overwrite(lock_file, R"({"pid":41877,"host":"another-machine.invalid"})");
  CHECK(store->lock_holder("r1") == "pid 41877 on host another-machine.invalid");

  for (const char* record : {"", "garbage", R"({"pid":0,"host":"x"})", R"({"pid":-1,"host":"x"})", R"({"host":"x"})"}) {
    CAPTURE(record);
    overwrite(lock_file, record);
    CHECK_FALSE(store->lock_holder("r1").has_value());
  }
}

TEST_CASE("taking the lock removes temporaries of interrupted writes and nothing else") {
  TempDir temp;
  auto store = make_file_run_store(temp.path());
  run_with_two_done_stages(*store, "r1");
  const fs::path dir = fs::path(temp.path()) / "r1";
  overwrite(dir / ".checkpoint.json.tmp-1234abcd", "{\"half");
  overwrite(dir / "stages/.02-signals.json.tmp-99", "half");
  overwrite(dir / ".hidden-note", "kept");
  auto lock = store->lock("r1");
  REQUIRE(lock);
  CHECK_FALSE(fs::exists(dir / ".checkpoint.json.tmp-1234abcd"));
  CHECK_FALSE(fs::exists(dir / "stages/.02-signals.json.tmp-99"));
  CHECK(fs::exists(dir / ".hidden-note"));
  CHECK(store->load("r1").has_value());
}

TEST_CASE("a writer killed at random moments always leaves the old or the new checkpoint") {
  TempDir temp;
  const fs::path root = temp.path();
  auto store = make_file_run_store(root);
  REQUIRE(store->create("r1"));
  RunState small = sample_run_state("r1");
  RunState large = sample_run_state("r1");
  large.status = RunStatus::running;
  large.settings["notes"] = std::string(64 * 1024, 'n');  // spans many pages
  const json small_json = to_json(small);
  const json large_json = to_json(large);
  REQUIRE(store->save(small));

  std::mt19937 random(4242);
  int seen_small = 0;
  int seen_large = 0;
  for (int round = 0; round < 40; ++round) {
    // The child reports each finished save on a pipe, so that the kill comes
    // after a random number of saves however slow the disk is, and then at a
    // random moment of the next one.
    int progress[2];
    REQUIRE(::pipe(progress) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::close(progress[0]);
      ::fcntl(progress[1], F_SETFL, O_NONBLOCK);
      for (bool write_large = true;; write_large = !write_large) {
        if (!store->save(write_large ? large : small)) ::_exit(1);
        const char done = write_large ? 'L' : 'S';
        if (::write(progress[1], &done, 1) < 0) {
          // A full pipe only means the parent is not counting any more.
        }
      }
    }
    ::close(progress[1]);
    const int saves_before_kill = 1 + static_cast<int>(random() % 4);
    for (int i = 0; i < saves_before_kill; ++i) {
      char done = 0;
      REQUIRE(::read(progress[0], &done, 1) == 1);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 4000));
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    ::close(progress[0]);
    REQUIRE_MESSAGE(WIFSIGNALED(status), "the saving child stopped on its own");

    const std::string text = slurp(root / "r1/checkpoint.json");
    const json document = json::parse(text, nullptr, false);
    REQUIRE_MESSAGE(!document.is_discarded(), "torn checkpoint after kill in round " << round);
    if (document == small_json) ++seen_small;
    else if (document == large_json) ++seen_large;
    else FAIL("checkpoint is neither state in round " << round);
    REQUIRE(store->load("r1").has_value());
  }
  CHECK(seen_small > 0);
  CHECK(seen_large > 0);
  CHECK(store->lock("r1").has_value());  // also sweeps the kills' temporaries
  for (const auto& entry : fs::directory_iterator(root / "r1")) {
    CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);
  }
}

TEST_CASE("pushed brands are kept under .brands, found by id and listed sorted") {
  TempDir dir;
  auto store = make_file_run_store(dir.path());
  CHECK(store->list_brands().empty());
  CHECK_FALSE(store->find_brand("acme").value_or_throw().has_value());
  REQUIRE(store->save_brand("zest", R"({"id":"zest"})").has_value());
  REQUIRE(store->save_brand("acme", R"({"id":"acme"})").has_value());
  CHECK(store->find_brand("acme").value_or_throw() == std::optional<std::string>(R"({"id":"acme"})"));
  CHECK(std::filesystem::is_regular_file(std::filesystem::path(dir.path()) / ".brands" / "acme.json"));
  CHECK(store->list_brands() == std::vector<std::string>{"acme", "zest"});
  // Pushed brands are no runs.
  CHECK(store->list().empty());
  CHECK(store->save_brand("../escape", "{}").error().kind == ErrorKind::bad_input);
}

TEST_CASE("footprint adds up a run folder's disk blocks; remove takes the whole folder away at once") {
  TempDir dir;
  auto store = make_file_run_store(dir.path());
  std::unique_ptr<RunLock> lock;
  run_with_two_done_stages(*store, "r1", &lock);
  const auto before = store->footprint("r1");
  REQUIRE(before.has_value());
  auto written = store->write_artifact("r1", "big.bin", std::string(300'000, 'x'));
  REQUIRE(written.has_value());
  const auto after = store->footprint("r1");
  REQUIRE(after.has_value());
  CHECK(*after >= *before + 300'000);
  CHECK(*after % 512 == 0);

  REQUIRE(store->remove("r1").has_value());
  CHECK_FALSE(fs::exists(dir / "r1"));
  CHECK(store->list().empty());
  CHECK(fs::is_empty(dir.path()));
  CHECK(store->remove("r1").error().kind == ErrorKind::bad_input);
  CHECK(store->footprint("r1").error().kind == ErrorKind::bad_input);
}

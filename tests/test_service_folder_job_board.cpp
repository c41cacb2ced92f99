#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/util/error.hpp"
#include "service/folder_job_board.hpp"
#include "tests/support/process.hpp"

using pipeline::queue::Job;
using pipeline::queue::JobState;
using pipeline::queue::Priority;
using pipeline::service::FolderJobBoard;
using pipeline::testing::TempDir;
using pipeline::util::ErrorKind;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<FolderJobBoard> folder_board_open(const TempDir& dir) {
  auto board = FolderJobBoard::open(dir.path());
  REQUIRE_MESSAGE(board.has_value(), board.error().message);
  return std::move(*board);
}

Job folder_board_job(const std::string& run_id, Priority priority = Priority::normal) {
  Job job;
  job.job_id = run_id;
  job.run_id = run_id;
  job.priority = priority;
  return job;
}

void folder_board_enqueue(FolderJobBoard& board, const Job& job) {
  auto queued = board.enqueue(job);
  REQUIRE_MESSAGE(queued.has_value(), queued.error().message);
}

Job folder_board_find(FolderJobBoard& board, const std::string& id) {
  auto found = board.find(id);
  REQUIRE(found.has_value());
  REQUIRE(found->has_value());
  return **found;
}

Job folder_board_take(FolderJobBoard& board) {
  auto taken = board.take(0ms);
  REQUIRE(taken.has_value());
  return *taken;
}

std::string folder_board_file_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The job file's fields as the board wrote them.
nlohmann::json folder_board_file(const TempDir& dir, const std::string& id) {
  return nlohmann::json::parse(folder_board_file_text(std::filesystem::path(dir.path()) / ".jobs" / (id + ".json")));
}

std::vector<std::string> folder_board_ids(FolderJobBoard& board) {
  auto jobs = board.list();
  REQUIRE(jobs.has_value());
  std::vector<std::string> ids;
  for (const auto& job : *jobs) ids.push_back(job.job_id);
  return ids;
}

void folder_board_expect_refusal(const pipeline::util::Expected<Job>& result, const std::string& fragment) {
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == ErrorKind::bad_input);
  CHECK_MESSAGE(result.error().message.find(fragment) != std::string::npos, result.error().message);
}

}  // namespace

TEST_CASE("queued jobs are found, listed oldest first and kept in files") {
  TempDir dir;
  auto board = folder_board_open(dir);
  Job source = folder_board_job("web-1", Priority::high);
  source.kind = pipeline::queue::JobKind::source;
  source.source = "https://example.com/a.pdf";
  source.brand = "acme";
  source.notify = "https://hooks.example.com/x";
  source.state = JobState::running;  // whatever the caller says, a new job is queued
  folder_board_enqueue(*board, source);
  // Ages are kept in milliseconds: apart, so that a restart keeps the order.
  std::this_thread::sleep_for(5ms);
  folder_board_enqueue(*board, folder_board_job("run-2"));

  const Job found = folder_board_find(*board, "web-1");
  CHECK(found.state == JobState::queued);
  CHECK(found.kind == pipeline::queue::JobKind::source);
  CHECK(found.source == source.source);
  CHECK(found.brand == "acme");
  CHECK(found.notify == source.notify);
  CHECK(found.priority == Priority::high);
  CHECK_FALSE(found.created_at.empty());
  CHECK_FALSE(found.updated_at.empty());
  CHECK(folder_board_ids(*board) == std::vector<std::string>{"web-1", "run-2"});

  auto missing = board->find("no-such-run");
  REQUIRE(missing.has_value());
  CHECK_FALSE(missing->has_value());

  const auto file = folder_board_file(dir, "web-1");
  CHECK(file.at("state") == "queued");
  CHECK(file.at("source") == source.source);

  // The files outlive the board.
  board.reset();
  auto again = folder_board_open(dir);
  const Job reread = folder_board_find(*again, "web-1");
  CHECK(reread.source == source.source);
  CHECK(reread.created_at == found.created_at);
  CHECK(folder_board_ids(*again) == std::vector<std::string>{"web-1", "run-2"});
}

TEST_CASE("enqueue refuses a bad run id and a second live job of one run") {
  TempDir dir;
  auto board = folder_board_open(dir);
  auto bad = board->enqueue(folder_board_job("../escape"));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().kind == ErrorKind::bad_input);
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(dir.path()) / "escape.json"));

  folder_board_enqueue(*board, folder_board_job("run-1"));
  auto twice = board->enqueue(folder_board_job("run-1", Priority::high));
  REQUIRE_FALSE(twice.has_value());
  CHECK(twice.error().kind == ErrorKind::bad_input);
  (void)folder_board_take(*board);
  CHECK_FALSE(board->enqueue(folder_board_job("run-1")).has_value());
  // Once over, the run may be queued again.
  board->finish("run-1", JobState::done, "");
  folder_board_enqueue(*board, folder_board_job("run-1", Priority::low));
  const Job requeued = folder_board_find(*board, "run-1");
  CHECK(requeued.state == JobState::queued);
  CHECK(requeued.priority == Priority::low);
}

TEST_CASE("take hands out high before normal before low, then oldest first, each once") {
  TempDir dir;
  auto board = folder_board_open(dir);
  folder_board_enqueue(*board, folder_board_job("low-1", Priority::low));
  folder_board_enqueue(*board, folder_board_job("normal-1"));
  folder_board_enqueue(*board, folder_board_job("high-1", Priority::high));
  folder_board_enqueue(*board, folder_board_job("normal-2"));
  folder_board_enqueue(*board, folder_board_job("high-2", Priority::high));
  std::vector<std::string> order;
  for (int i = 0; i < 5; ++i) {
    const Job job = folder_board_take(*board);
    CHECK(job.state == JobState::running);
    CHECK(job.attempts == 1);
    CHECK_FALSE(job.started_at.empty());
    order.push_back(job.job_id);
  }
  CHECK(order == std::vector<std::string>{"high-1", "high-2", "normal-1", "normal-2", "low-1"});
  CHECK_FALSE(board->take(0ms).has_value());
  CHECK(folder_board_find(*board, "low-1").state == JobState::running);
  CHECK(folder_board_file(dir, "low-1").at("state") == "running");
}

TEST_CASE("the oldest job comes first after a restart too") {
  TempDir dir;
  {
    auto board = folder_board_open(dir);
    // Names in the other order than their age, so the name does not decide.
    folder_board_enqueue(*board, folder_board_job("z-old"));
    std::this_thread::sleep_for(20ms);
    folder_board_enqueue(*board, folder_board_job("a-new"));
  }
  auto board = folder_board_open(dir);
  CHECK(folder_board_take(*board).job_id == "z-old");
  CHECK(folder_board_take(*board).job_id == "a-new");
}

TEST_CASE("take waits for a job and wakes when one is queued") {
  TempDir dir;
  auto board = folder_board_open(dir);
  const auto started = std::chrono::steady_clock::now();
  CHECK_FALSE(board->take(150ms).has_value());
  CHECK(std::chrono::steady_clock::now() - started >= 150ms);

  std::optional<Job> taken;
  std::chrono::steady_clock::duration waited{};
  std::thread worker([&] {
    const auto begin = std::chrono::steady_clock::now();
    taken = board->take(10s);
    waited = std::chrono::steady_clock::now() - begin;
  });
  std::this_thread::sleep_for(200ms);
  folder_board_enqueue(*board, folder_board_job("late-run"));
  worker.join();
  REQUIRE(taken.has_value());
  CHECK(taken->job_id == "late-run");
  CHECK(waited >= 150ms);
  CHECK(waited < 5s);
}

TEST_CASE("close wakes a waiting take, and take gives nothing after it") {
  TempDir dir;
  auto board = folder_board_open(dir);
  std::atomic<bool> returned{false};
  std::optional<Job> taken;
  std::chrono::steady_clock::duration waited{};
  std::thread worker([&] {
    const auto begin = std::chrono::steady_clock::now();
    taken = board->take(20s);
    waited = std::chrono::steady_clock::now() - begin;
    returned = true;
  });
  std::this_thread::sleep_for(150ms);
  CHECK_FALSE(returned.load());
  board->close();
  worker.join();
  CHECK_FALSE(taken.has_value());
  CHECK(waited < 5s);

  folder_board_enqueue(*board, folder_board_job("after-close"));
  CHECK_FALSE(board->take(0ms).has_value());
  CHECK_FALSE(board->take(100ms).has_value());
  CHECK(folder_board_find(*board, "after-close").state == JobState::queued);
}

TEST_CASE("a job given back with a delay is not taken before it is due") {
  TempDir dir;
  auto board = folder_board_open(dir);
  folder_board_enqueue(*board, folder_board_job("slow-run", Priority::high));
  CHECK(folder_board_take(*board).job_id == "slow-run");
  const auto given_back = std::chrono::steady_clock::now();
  board->give_back("slow-run", 600ms, "the provider is busy");

  const Job waiting = folder_board_find(*board, "slow-run");
  CHECK(waiting.state == JobState::queued);
  CHECK(waiting.error == "the provider is busy");
  auto counts = board->counts();
  REQUIRE(counts.has_value());
  CHECK(counts->delayed == 1);
  CHECK(counts->queued.at(Priority::high) == 0);
  CHECK(counts->in_flight == 0);

  // Another job that is due goes first, though it is of a lower priority.
  folder_board_enqueue(*board, folder_board_job("quick-run", Priority::low));
  CHECK(folder_board_take(*board).job_id == "quick-run");
  CHECK_FALSE(board->take(0ms).has_value());

  auto again = board->take(5s);
  const auto waited = std::chrono::steady_clock::now() - given_back;
  REQUIRE(again.has_value());
  CHECK(again->job_id == "slow-run");
  CHECK(again->attempts == 2);
  CHECK(waited >= 600ms);
  CHECK(waited < 4s);
}

TEST_CASE("finish records done and failed with the error") {
  TempDir dir;
  auto board = folder_board_open(dir);
  folder_board_enqueue(*board, folder_board_job("good-run"));
  folder_board_enqueue(*board, folder_board_job("bad-run"));
  (void)folder_board_take(*board);
  (void)folder_board_take(*board);
  board->finish("good-run", JobState::done, "");
  board->finish("bad-run", JobState::failed, "the PDF has no text");
  board->finish("unknown-run", JobState::done, "");  // ignored
  const Job good = folder_board_find(*board, "good-run");
  CHECK(good.state == JobState::done);
  CHECK_FALSE(good.finished_at.empty());
  const Job bad = folder_board_find(*board, "bad-run");
  CHECK(bad.state == JobState::failed);
  CHECK(bad.error == "the PDF has no text");
  CHECK(folder_board_file(dir, "bad-run").at("state") == "failed");
  CHECK_FALSE(board->find("unknown-run")->has_value());
}

TEST_CASE("cancel stops queued and running jobs; only a running one is told to its worker") {
  TempDir dir;
  auto board = folder_board_open(dir);
  std::mutex mutex;
  std::vector<std::string> told;
  board->on_cancel([&](const std::string& id) {
    std::lock_guard lock(mutex);
    told.push_back(id);
  });
  folder_board_enqueue(*board, folder_board_job("running-run", Priority::high));
  folder_board_enqueue(*board, folder_board_job("waiting-run"));
  CHECK(folder_board_take(*board).job_id == "running-run");

  auto waiting = board->cancel("waiting-run");
  REQUIRE_MESSAGE(waiting.has_value(), waiting.error().message);
  CHECK(waiting->state == JobState::cancelled);
  CHECK_FALSE(waiting->finished_at.empty());
  CHECK(told.empty());
  CHECK_FALSE(board->take(0ms).has_value());

  auto running = board->cancel("running-run");
  REQUIRE_MESSAGE(running.has_value(), running.error().message);
  CHECK(running->state == JobState::cancelled);
  CHECK(told == std::vector<std::string>{"running-run"});
  CHECK(folder_board_file(dir, "running-run").at("state") == "cancelled");

  // What the worker reports afterwards does not undo the cancel.
  board->finish("running-run", JobState::done, "");
  CHECK(folder_board_find(*board, "running-run").state == JobState::cancelled);
  board->give_back("running-run", 0ms, "drained");
  CHECK(folder_board_find(*board, "running-run").state == JobState::cancelled);
  CHECK_FALSE(board->take(0ms).has_value());

  folder_board_expect_refusal(board->cancel("running-run"), "cancelled");
  folder_board_expect_refusal(board->cancel("no-such-run"), "no-such-run");
  folder_board_enqueue(*board, folder_board_job("done-run"));
  (void)folder_board_take(*board);
  board->finish("done-run", JobState::done, "");
  folder_board_expect_refusal(board->cancel("done-run"), "done");
  CHECK(told.size() == 1);
}

TEST_CASE("retry queues failed, dead and cancelled jobs, and done ones only to redo stages") {
  TempDir dir;
  auto board = folder_board_open(dir);
  for (const std::string id : {"failed-run", "dead-run", "done-run", "cancelled-run", "running-run"}) {
    folder_board_enqueue(*board, folder_board_job(id));
  }
  folder_board_enqueue(*board, folder_board_job("queued-run", Priority::low));
  for (int i = 0; i < 5; ++i) (void)folder_board_take(*board);
  board->finish("failed-run", JobState::failed, "stage 3 failed");
  board->finish("dead-run", JobState::dead, "its workers died");
  board->finish("done-run", JobState::done, "");
  REQUIRE(board->cancel("cancelled-run").has_value());

  folder_board_expect_refusal(board->retry("running-run", 0), "running");
  folder_board_expect_refusal(board->retry("queued-run", 0), "queued");
  folder_board_expect_refusal(board->retry("queued-run", 2), "queued");
  folder_board_expect_refusal(board->retry("done-run", 0), "done");
  folder_board_expect_refusal(board->retry("no-such-run", 0), "no-such-run");

  for (const std::string id : {"failed-run", "dead-run", "cancelled-run"}) {
    CAPTURE(id);
    auto retried = board->retry(id, 0);
    REQUIRE_MESSAGE(retried.has_value(), retried.error().message);
    CHECK(retried->state == JobState::queued);
    CHECK(retried->error.empty());
    CHECK(retried->finished_at.empty());
    CHECK(retried->deaths == 0);
    CHECK(retried->redo_from == 0);
    CHECK(folder_board_file(dir, id).at("state") == "queued");
  }

  auto redo = board->retry("done-run", 3);
  REQUIRE_MESSAGE(redo.has_value(), redo.error().message);
  CHECK(redo->state == JobState::queued);
  CHECK(redo->redo_from == 3);
  CHECK(folder_board_file(dir, "done-run").at("redo_from") == "3");

  // The retried jobs are taken again in the order they were retried, before
  // the low one that waited all along.
  std::vector<std::string> taken;
  while (auto job = board->take(0ms)) {
    if (job->job_id == "done-run") {
      CHECK(job->redo_from == 3);
      CHECK(job->attempts == 2);
    }
    taken.push_back(job->job_id);
  }
  CHECK(taken == std::vector<std::string>{"failed-run", "dead-run", "cancelled-run", "done-run", "queued-run"});

  // Once the stage is redone the redo is forgotten, also on disk.
  board->clear_redo("done-run");
  CHECK(folder_board_find(*board, "done-run").redo_from == 0);
  board.reset();
  auto reopened = folder_board_open(dir);
  CHECK(folder_board_find(*reopened, "done-run").redo_from == 0);
}

TEST_CASE("counts tell jobs waiting by priority, running, delayed, dead and the workers") {
  TempDir dir;
  auto board = folder_board_open(dir);
  auto empty = board->counts();
  REQUIRE(empty.has_value());
  for (const auto priority : pipeline::queue::all_priorities()) CHECK(empty->queued.at(priority) == 0);
  CHECK(empty->in_flight == 0);
  CHECK(empty->live_workers == 0);

  folder_board_enqueue(*board, folder_board_job("h-1", Priority::high));
  folder_board_enqueue(*board, folder_board_job("h-2", Priority::high));
  folder_board_enqueue(*board, folder_board_job("h-3", Priority::high));
  folder_board_enqueue(*board, folder_board_job("n-1"));
  folder_board_enqueue(*board, folder_board_job("l-1", Priority::low));
  folder_board_enqueue(*board, folder_board_job("l-2", Priority::low));
  CHECK(folder_board_take(*board).job_id == "h-1");
  CHECK(folder_board_take(*board).job_id == "h-2");
  board->finish("h-2", JobState::dead, "its workers died");
  CHECK(folder_board_take(*board).job_id == "h-3");
  board->give_back("h-3", 60s, "later");
  board->set_live_workers(3);

  auto counts = board->counts();
  REQUIRE(counts.has_value());
  CHECK(counts->queued.at(Priority::high) == 0);
  CHECK(counts->queued.at(Priority::normal) == 1);
  CHECK(counts->queued.at(Priority::low) == 2);
  CHECK(counts->in_flight == 1);
  CHECK(counts->delayed == 1);
  CHECK(counts->dead == 1);
  CHECK(counts->live_workers == 3);
}

TEST_CASE("one board per folder: a second open is busy until the first is gone") {
  TempDir dir;
  auto first = folder_board_open(dir);
  folder_board_enqueue(*first, folder_board_job("run-1"));
  auto second = FolderJobBoard::open(dir.path());
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().kind == ErrorKind::busy);
  CHECK(second.error().message.find(dir.path()) != std::string::npos);
  first.reset();
  auto third = folder_board_open(dir);
  CHECK(folder_board_find(*third, "run-1").state == JobState::queued);
}

TEST_CASE("a job left running by a process that died is queued again on open") {
  TempDir dir;
  {
    auto board = folder_board_open(dir);
    folder_board_enqueue(*board, folder_board_job("crashed-run"));
    folder_board_enqueue(*board, folder_board_job("finished-run"));
    CHECK(folder_board_take(*board).job_id == "crashed-run");
    CHECK(folder_board_take(*board).job_id == "finished-run");
    board->finish("finished-run", JobState::done, "");
  }
  // The board went away without finishing the job, as a killed process does.
  REQUIRE(folder_board_file(dir, "crashed-run").at("state") == "running");

  // And one a dead process's file says is running, written by hand.
  nlohmann::json written = folder_board_file(dir, "crashed-run");
  written["job_id"] = "hand-run";
  written["run_id"] = "hand-run";
  written["attempts"] = "4";
  {
    std::ofstream out(std::filesystem::path(dir.path()) / ".jobs" / "hand-run.json");
    out << written.dump();
  }

  auto board = folder_board_open(dir);
  const Job crashed = folder_board_find(*board, "crashed-run");
  CHECK(crashed.state == JobState::queued);
  CHECK(crashed.attempts == 1);
  CHECK(folder_board_file(dir, "crashed-run").at("state") == "queued");
  CHECK(folder_board_find(*board, "hand-run").state == JobState::queued);
  CHECK(folder_board_find(*board, "finished-run").state == JobState::done);

  const Job resumed = folder_board_take(*board);
  CHECK(resumed.job_id == "crashed-run");
  CHECK(resumed.attempts == 2);
  const Job by_hand = folder_board_take(*board);
  CHECK(by_hand.job_id == "hand-run");
  CHECK(by_hand.attempts == 5);
  CHECK_FALSE(board->take(0ms).has_value());
}

TEST_CASE("a damaged job file is ignored and left where it is") {
  TempDir dir;
  {
    auto board = folder_board_open(dir);
    folder_board_enqueue(*board, folder_board_job("good-run"));
  }
  const std::filesystem::path jobs = std::filesystem::path(dir.path()) / ".jobs";
  const std::string garbage = "{\"job_id\": \"torn";
  const std::string misnamed = "{\"job_id\": \"someone-else\", \"run_id\": \"someone-else\", \"state\": \"queued\"}";
  const std::string unknown_state = "{\"job_id\": \"odd-run\", \"run_id\": \"odd-run\", \"state\": \"exploded\"}";
  {
    std::ofstream(jobs / "torn-run.json") << garbage;
    std::ofstream(jobs / "misnamed-run.json") << misnamed;
    std::ofstream(jobs / "odd-run.json") << unknown_state;
  }

  auto board = folder_board_open(dir);
  CHECK(folder_board_ids(*board) == std::vector<std::string>{"good-run"});
  CHECK_FALSE(board->find("someone-else")->has_value());
  CHECK_FALSE(board->find("odd-run")->has_value());
  CHECK(folder_board_take(*board).job_id == "good-run");
  CHECK_FALSE(board->take(0ms).has_value());
  CHECK(folder_board_file_text(jobs / "torn-run.json") == garbage);
  CHECK(folder_board_file_text(jobs / "misnamed-run.json") == misnamed);
  CHECK(folder_board_file_text(jobs / "odd-run.json") == unknown_state);
}

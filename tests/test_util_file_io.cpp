#include <doctest/doctest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lib/util/file_io.hpp"
#include "tests/support/process.hpp"

namespace fs = std::filesystem;
using pipeline::testing::TempDir;
using pipeline::util::append_line;
using pipeline::util::ErrorKind;
using pipeline::util::read_file;
using pipeline::util::write_file_atomic;

namespace pipeline::testing {
namespace {

// Every name in `directory`, so a test can see stray temporary files.
std::set<std::string> names_in(const fs::path& directory) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) names.insert(entry.path().filename().string());
  return names;
}

// All 256 byte values, several times over and in a shuffled order, so that
// NULs, CR/LF and high bytes all have to survive a round trip.
std::string binary_sample(std::size_t size, unsigned seed) {
  std::mt19937 generator(seed);
  std::string bytes;
  for (int value = 0; value < 256; ++value) bytes.push_back(static_cast<char>(value));
  while (bytes.size() < size) bytes.push_back(static_cast<char>(generator() & 0xff));
  std::shuffle(bytes.begin() + 256, bytes.end(), generator);
  return bytes;
}

// Waits for a forked child and returns whether it exited with status 0.
bool child_succeeded(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace
}  // namespace pipeline::testing

using namespace pipeline::testing;

TEST_CASE("read_file refuses a missing file and a directory as bad input") {
  TempDir dir;
  auto missing = read_file(dir / "no-such-file");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::bad_input);
  CHECK(missing.error().message.find("no-such-file") != std::string::npos);

  auto directory = read_file(dir.path());
  REQUIRE_FALSE(directory);
  CHECK(directory.error().kind == ErrorKind::bad_input);
  CHECK(directory.error().message.find(dir.path()) != std::string::npos);
}

TEST_CASE("read_file reads regular files only, at once: a FIFO, /dev/zero and a socket are refused") {
  TempDir dir;
  const auto fifo = dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto started = std::chrono::steady_clock::now();
  auto from_fifo = read_file(fifo);
  REQUIRE_FALSE(from_fifo);
  CHECK(from_fifo.error().kind == ErrorKind::bad_input);
  CHECK(from_fifo.error().message == fifo + " is a FIFO, not a regular file");
  auto from_zero = read_file("/dev/zero");
  REQUIRE_FALSE(from_zero);
  CHECK(from_zero.error().message == "/dev/zero is a character device, not a regular file");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
  auto directory = read_file(dir.path());
  REQUIRE_FALSE(directory);
  CHECK(directory.error().message == dir.path() + " is a directory, not a regular file");
}

TEST_CASE("read_file refuses a file over its cap before reading it, and a link when told not to follow") {
  TempDir dir;
  const auto file = dir / "data";
  REQUIRE(write_file_atomic(file, std::string(1000, 'x')));
  CHECK(read_file(file, {.max_bytes = 1000}).value_or_throw().size() == 1000);
  auto over = read_file(file, {.max_bytes = 999});
  REQUIRE_FALSE(over);
  CHECK(over.error().kind == ErrorKind::bad_input);
  CHECK(over.error().message == file + " is too large: at most 999 bytes are read here");

  const auto link = dir / "link";
  fs::create_symlink(file, link);
  CHECK(read_file(link).value_or_throw().size() == 1000);
  auto refused = read_file(link, {.follow_symlinks = false});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == link + " is a symbolic link; it is not followed");
}

TEST_CASE("append_line never writes through a symbolic link or into a FIFO") {
  TempDir dir;
  const auto outside = dir / "outside";
  REQUIRE(write_file_atomic(outside, "before\n"));
  const auto link = dir / "events.ndjson";
  fs::create_symlink(outside, link);
  auto appended = append_line(link, "event");
  REQUIRE_FALSE(appended);
  CHECK(appended.error().kind == ErrorKind::bad_input);
  CHECK(read_file(outside).value_or_throw() == "before\n");
  const auto fifo = dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_FALSE(append_line(fifo, "event"));
}

TEST_CASE("binary content written atomically reads back byte for byte") {
  TempDir dir;
  const auto path = fs::path(dir / "blob.bin");
  const auto bytes = binary_sample(200'000, 7);
  REQUIRE(write_file_atomic(path, bytes));
  CHECK(fs::file_size(path) == bytes.size());
  auto read = read_file(path);
  REQUIRE(read);
  CHECK(*read == bytes);

  REQUIRE(write_file_atomic(path, ""));
  auto empty = read_file(path);
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("write_file_atomic replaces the content and leaves no temporary file") {
  TempDir dir;
  const auto path = fs::path(dir / "state.json");
  REQUIRE(write_file_atomic(path, std::string(10'000, 'x')));
  REQUIRE(write_file_atomic(path, "short"));
  CHECK(*read_file(path) == "short");
  CHECK(names_in(dir.path()) == std::set<std::string>{"state.json"});

  // A relative path writes into the working directory, not somewhere else.
  const auto previous = fs::current_path();
  fs::current_path(dir.path());
  auto relative = write_file_atomic("relative.txt", "here");
  fs::current_path(previous);
  REQUIRE(relative);
  CHECK(*read_file(dir / "relative.txt") == "here");
  CHECK(names_in(dir.path()) == std::set<std::string>{"state.json", "relative.txt"});
}

TEST_CASE("write_file_atomic fails cleanly when it cannot replace the target") {
  TempDir dir;
  SUBCASE("the target is a directory") {
    fs::create_directory(dir / "occupied");
    auto result = write_file_atomic(dir / "occupied", "content");
    REQUIRE_FALSE(result);
    CHECK(fs::is_directory(dir / "occupied"));
    CHECK(names_in(dir.path()) == std::set<std::string>{"occupied"});
  }
  SUBCASE("the folder does not exist") {
    auto result = write_file_atomic(fs::path(dir.path()) / "missing" / "file.txt", "content");
    REQUIRE_FALSE(result);
    CHECK(names_in(dir.path()).empty());
  }
}

TEST_CASE("write_file_atomic creates files readable by all and writable by the owner, under the umask") {
  TempDir dir;
  const mode_t previous = ::umask(022);
  auto open_result = write_file_atomic(dir / "open.txt", "a");
  ::umask(077);
  auto private_result = write_file_atomic(dir / "private.txt", "b");
  ::umask(previous);
  REQUIRE(open_result);
  REQUIRE(private_result);

  struct stat info {};
  REQUIRE(::stat((dir / "open.txt").c_str(), &info) == 0);
  CHECK(S_ISREG(info.st_mode));
  CHECK((info.st_mode & 07777) == 0644);
  REQUIRE(::stat((dir / "private.txt").c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0600);
}

namespace {

void check_kill_safety(pipeline::util::Sync sync) {
  TempDir dir;
  const auto path = fs::path(dir / "checkpoint.json");
  // Large enough that a write takes several system calls' worth of time.
  const std::string first = "{\"version\":1,\"fill\":\"" + std::string(300'000, 'a') + "\"}";
  const std::string second = "{\"version\":2,\"fill\":\"" + std::string(150'000, 'b') + "\"}";
  REQUIRE(write_file_atomic(path, first));

  std::mt19937 generator(std::random_device{}());
  // A write with its two fsyncs takes milliseconds, so kills land before,
  // during and after renames.
  std::uniform_int_distribution<int> delay_us(0, 60'000);
  int kills = 0;
  std::set<std::string> seen;
  for (int round = 0; round < 30; ++round) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      for (unsigned i = 0;; ++i) {
        if (!write_file_atomic(path, i % 2 == 0 ? second : first, sync)) ::_exit(2);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(generator)));
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++kills;

    auto content = read_file(path);
    REQUIRE(content);
    const bool whole = *content == first || *content == second;
    CHECK_MESSAGE(whole, "round ", round, ": torn file of ", content->size(), " bytes");
    if (whole) seen.insert(content->substr(0, 12));
  }
  // Every child died by the kill, not by a failed write.
  CHECK(kills == 30);
  // Killed writers may leave temporaries, but never touch the target's name.
  for (const auto& name : names_in(dir.path())) {
    CHECK((name == "checkpoint.json" || name.rfind(".checkpoint.json.tmp-", 0) == 0));
  }
  // At least one child got a rewrite through, or the test proved nothing.
  CHECK(seen.count(second.substr(0, 12)) == 1);
}

}  // namespace

TEST_CASE("a writer killed at any instant leaves exactly the old or the new content") {
  check_kill_safety(pipeline::util::Sync::now);
}

TEST_CASE("without fsync too, a killed writer leaves exactly the old or the new content") {
  check_kill_safety(pipeline::util::Sync::later);
}

TEST_CASE("sync_filesystem flushes the file system of a path, and reports a missing one") {
  TempDir dir;
  REQUIRE(write_file_atomic(fs::path(dir / "a.json"), "{}", pipeline::util::Sync::later));
  CHECK(pipeline::util::sync_filesystem(dir.path()));
  CHECK(pipeline::util::sync_filesystem(fs::path(dir / "a.json")));
  auto missing = pipeline::util::sync_filesystem(fs::path(dir / "missing"));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("missing") != std::string::npos);
}

TEST_CASE("append_line appends whole lines in order") {
  TempDir dir;
  const auto path = fs::path(dir / "events.ndjson");
  std::vector<std::string> lines;
  for (int i = 0; i < 20; ++i) lines.push_back("{\"event\":" + std::to_string(i * 37 % 11) + ",\"i\":" + std::to_string(i) + "}");
  for (const auto& line : lines) REQUIRE(append_line(path, line));

  auto content = read_file(path);
  REQUIRE(content);
  REQUIRE_FALSE(content->empty());
  CHECK(content->back() == '\n');
  CHECK(split_lines(*content) == lines);

  // An existing file is extended, not replaced.
  REQUIRE(append_line(path, "last"));
  CHECK(*read_file(path) == *content + "last\n");
}

TEST_CASE("append_line reports a folder that does not exist") {
  TempDir dir;
  auto result = append_line(fs::path(dir.path()) / "missing" / "events.ndjson", "line");
  REQUIRE_FALSE(result);
  CHECK(result.error().message.find("events.ndjson") != std::string::npos);
}

TEST_CASE("concurrent appends from two processes produce only whole lines") {
  TempDir dir;
  const auto path = fs::path(dir / "shared.log");
  constexpr int k_lines_per_child = 200;
  // Each child's lines are long and made of its own letter, so any
  // interleaving inside a line shows as a mixed or cut line.
  auto line_of = [](char letter, int index) {
    return std::string(1, letter) + std::to_string(index) + ":" + std::string(300 + index % 50, letter);
  };

  std::vector<pid_t> children;
  for (char letter : {'p', 'q'}) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      for (int i = 0; i < k_lines_per_child; ++i) {
        if (!append_line(path, line_of(letter, i))) ::_exit(2);
      }
      ::_exit(0);
    }
    children.push_back(child);
  }
  for (pid_t child : children) CHECK(child_succeeded(child));

  auto content = read_file(path);
  REQUIRE(content);
  CHECK(content->back() == '\n');
  const auto lines = split_lines(*content);
  CHECK(lines.size() == 2 * k_lines_per_child);
  int next_p = 0;
  int next_q = 0;
  for (const auto& line : lines) {
    REQUIRE_FALSE(line.empty());
    int& next = line[0] == 'p' ? next_p : next_q;
    // Each process's own lines stay in its order.
    CHECK(line == line_of(line[0], next));
    ++next;
  }
  CHECK(next_p == k_lines_per_child);
  CHECK(next_q == k_lines_per_child);
}

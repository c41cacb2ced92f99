#include "tests/support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace pipeline::testing {
namespace {

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string make_temp_path(const char* stem) {
  std::string pattern = std::filesystem::temp_directory_path().string() + "/" + stem + "-XXXXXX";
  int fd = ::mkstemp(pattern.data());
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  return pattern;
}

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** entry = environ; *entry; ++entry) {
    std::string item(*entry);
    auto eq = item.find('=');
    if (eq != std::string::npos) env[item.substr(0, eq)] = item.substr(eq + 1);
  }
  for (const auto& [key, value] : extra) {
    if (value.empty()) env.erase(key);
    else env[key] = value;
  }
  std::vector<std::string> result;
  for (const auto& [key, value] : env) result.push_back(key + "=" + value);
  return result;
}

}  // namespace

Process::Process(const std::vector<std::string>& argv, const ProcessOptions& options)
    : m_out_path(make_temp_path("pipeline-test-out")), m_err_path(make_temp_path("pipeline-test-err")) {
  std::string in_path = make_temp_path("pipeline-test-in");
  std::ofstream(in_path, std::ios::binary) << options.stdin_text;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, m_out_path.c_str(), O_WRONLY | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, m_err_path.c_str(), O_WRONLY | O_TRUNC, 0644);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());

  // The child starts with default signal handling whatever the test runner set.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  auto env_strings = merged_environment(options.env);
  std::vector<char*> env;
  for (auto& item : env_strings) env.push_back(item.data());
  env.push_back(nullptr);

  int rc = posix_spawnp(&m_pid, args[0], &actions, &attributes, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::unlink(in_path.c_str());
  if (rc != 0) throw std::runtime_error("cannot start " + argv.at(0));
}

Process::~Process() {
  if (!m_reaped && m_pid > 0) {
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, &m_status, 0);
  }
  ::unlink(m_out_path.c_str());
  ::unlink(m_err_path.c_str());
}

void Process::send_signal(int signal) {
  if (!m_reaped) ::kill(m_pid, signal);
}

bool Process::running() {
  if (m_reaped) return false;
  pid_t done = ::waitpid(m_pid, &m_status, WNOHANG);
  if (done == m_pid) m_reaped = true;
  return !m_reaped;
}

std::string Process::stdout_so_far() const { return read_whole(m_out_path); }

ProcessResult Process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, &m_status, 0);
      m_reaped = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ProcessResult result;
  if (WIFEXITED(m_status)) result.exit_code = WEXITSTATUS(m_status);
  if (WIFSIGNALED(m_status)) result.term_signal = WTERMSIG(m_status);
  result.out = read_whole(m_out_path);
  result.err = read_whole(m_err_path);
  return result;
}

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
  Process process(argv, options);
  return process.wait();
}

std::string pipeline_binary() { return PIPELINE_BINARY; }

ProcessResult run_pipeline(const std::vector<std::string>& args, const ProcessOptions& options) {
  std::vector<std::string> argv{pipeline_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, options);
}

TempDir::TempDir() {
  std::string pattern = std::filesystem::temp_directory_path().string() + "/pipeline-test-XXXXXX";
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  m_path = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace pipeline::testing

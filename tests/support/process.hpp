#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <sys/types.h>

namespace pipeline::testing {

// The outcome of a finished child process.
struct ProcessResult {
  int exit_code = -1;    // when it exited
  int term_signal = 0;   // when a signal ended it
  std::string out;
  std::string err;
};

// Options for a child process: extra environment (an empty value unsets the
// variable), working directory and standard input.
struct ProcessOptions {
  std::map<std::string, std::string> env;
  std::string cwd;
  std::string stdin_text;
};

// A child process started with posix_spawn; its stdout and stderr go to
// temporary files, read back by wait().
class Process {
 public:
  Process(const std::vector<std::string>& argv, const ProcessOptions& options = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return m_pid; }
  void send_signal(int signal);
  // Waits for the exit; kills with SIGKILL after `timeout`.
  ProcessResult wait(std::chrono::milliseconds timeout = std::chrono::minutes(5));
  // True while it runs (reaps it when it has ended).
  bool running();
  // The stdout written so far.
  std::string stdout_so_far() const;

 private:
  pid_t m_pid = -1;
  std::string m_out_path;
  std::string m_err_path;
  bool m_reaped = false;
  int m_status = 0;
};

// Runs a command to its end.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// Runs the built `pipeline` binary with `args`.
ProcessResult run_pipeline(const std::vector<std::string>& args, const ProcessOptions& options = {});

// The path of the built `pipeline` binary.
std::string pipeline_binary();

// A fresh empty temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return m_path; }
  std::string operator/(const std::string& name) const { return m_path + "/" + name; }

 private:
  std::string m_path;
};

// Lines of `text` (without the newlines).
std::vector<std::string> split_lines(const std::string& text);

}  // namespace pipeline::testing

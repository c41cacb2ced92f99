#include "tests/support/terminate.hpp"

#include <csignal>

#include <doctest/doctest.h>

namespace pipeline::testing {

TerminatedProcess terminate_process(Process& process, std::chrono::milliseconds timeout) {
  process.send_signal(SIGTERM);
  const auto signalled = std::chrono::steady_clock::now();
  TerminatedProcess stopped;
  stopped.result = process.wait(timeout);
  stopped.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled).count();
  return stopped;
}

ProcessResult stop_cleanly(Process& process) {
  auto stopped = terminate_process(process);
  INFO(stopped.result.err);
  CHECK(stopped.result.exit_code == 0);
  return stopped.result;
}

}  // namespace pipeline::testing

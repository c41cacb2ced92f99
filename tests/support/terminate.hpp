#pragma once

#include <chrono>

#include "tests/support/process.hpp"

namespace pipeline::testing {

// A process stopped by SIGTERM: how it ended and how long that took.
struct TerminatedProcess {
  ProcessResult result;
  double seconds = 0;
};

// Sends SIGTERM and waits for the exit (SIGKILL after `timeout`).
TerminatedProcess terminate_process(Process& process, std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Sends SIGTERM, waits, and checks that the process exited 0 (a drained worker).
ProcessResult stop_cleanly(Process& process);

}  // namespace pipeline::testing

#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace pipeline::util {

// What went wrong, as far as a caller or a script needs to know; each kind
// maps to one documented exit code (see exit_code()).
enum class ErrorKind {
  failed,            // 1: the work failed and retrying as is will not help
  usage,             // 2: the command line is wrong
  bad_input,         // 3: unreadable PDF, unknown brand, run not found, invalid file
  provider,          // 4: the model provider refused; a person must act
  busy,              // 5: the run is locked by another process
  budget_too_small,  // 6: a stage cannot finish within the time budget
  cost_limit,        // 7: the next model call could pass --max-cost; resume with a higher cap
  transient,         // 75: temporary errors exhausted; resume later
  deadline,          // 75: the time budget ran out; resume later
  interrupted,       // 130/143: stopped by SIGINT/SIGTERM after saving
};

// A failure as a value: its kind, a message for a person, and an optional
// short machine-readable code such as "http_429" or "truncated".
struct Error {
  ErrorKind kind = ErrorKind::failed;
  std::string message;
  std::string code;
};

// The one exception type for fatal user-facing errors; main() catches it.
class FatalError : public std::runtime_error {
 public:
  FatalError(ErrorKind kind, const std::string& message) : std::runtime_error(message), m_kind(kind) {}
  explicit FatalError(const Error& error) : FatalError(error.kind, error.message) {}
  ErrorKind kind() const { return m_kind; }

 private:
  ErrorKind m_kind;
};

// The process exit code for an error kind; `signal` picks 130 or 143 for
// interruptions (0 means SIGINT).
int exit_code(ErrorKind kind, int signal = 0);

// A stable lowercase name for the kind, used in checkpoints and events.
std::string_view to_string(ErrorKind kind);

}  // namespace pipeline::util

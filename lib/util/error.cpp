#include "lib/util/error.hpp"

#include <csignal>

namespace pipeline::util {

int exit_code(ErrorKind kind, int signal) {
  switch (kind) {
    case ErrorKind::failed: return 1;
    case ErrorKind::usage: return 2;
    case ErrorKind::bad_input: return 3;
    case ErrorKind::provider: return 4;
    case ErrorKind::busy: return 5;
    case ErrorKind::budget_too_small: return 6;
    case ErrorKind::cost_limit: return 7;
    case ErrorKind::transient:
    case ErrorKind::deadline: return 75;
    case ErrorKind::interrupted: return signal == SIGTERM ? 143 : 130;
  }
  return 1;
}

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::failed: return "failed";
    case ErrorKind::usage: return "usage";
    case ErrorKind::bad_input: return "bad_input";
    case ErrorKind::provider: return "provider";
    case ErrorKind::busy: return "busy";
    case ErrorKind::budget_too_small: return "budget_too_small";
    case ErrorKind::cost_limit: return "cost_limit";
    case ErrorKind::transient: return "transient";
    case ErrorKind::deadline: return "deadline";
    case ErrorKind::interrupted: return "interrupted";
  }
  return "failed";
}

}  // namespace pipeline::util

#include "lib/util/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "lib/util/text.hpp"

namespace pipeline::util {
namespace {

std::atomic<bool> g_verbose{false};
std::mutex g_stderr_mutex;

}  // namespace

void set_verbose(bool verbose) { g_verbose = verbose; }

bool verbose() { return g_verbose; }

void log_verbose(std::string_view message) {
  if (!g_verbose) return;
  std::lock_guard lock(g_stderr_mutex);
  std::fprintf(stderr, "pipeline: %s\n", escape_control(message).c_str());
}

}  // namespace pipeline::util

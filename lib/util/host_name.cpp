#include "lib/util/host_name.hpp"

#include <unistd.h>

namespace pipeline::util {

std::string host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0) return "unknown";
  return buffer;
}

}  // namespace pipeline::util

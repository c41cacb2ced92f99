#pragma once

#include <string>

namespace pipeline::util {

// This machine's host name, "unknown" when the system gives none.
std::string host_name();

}  // namespace pipeline::util

#pragma once

#include <cstddef>
#include <string>

namespace pipeline::util {

// `bytes` random bytes from the system's CSPRNG as lowercase hex (twice as
// many digits): for ids that must not collide across processes and machines.
std::string random_hex(std::size_t bytes);

}  // namespace pipeline::util

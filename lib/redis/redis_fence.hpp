#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/redis/redis_connection.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::redis {

// The error code of a write refused because the writer no longer holds the
// lease it wrote under (ErrorKind::busy): another process took the work over.
inline constexpr const char* k_lease_lost_code = "lease_lost";

// A write's proof that its writer still holds a lease: the lease hash at
// `lease_key` must still name this owner and epoch (fencing number) when the
// write's script runs.
struct Fence {
  std::string lease_key;
  std::string owner;
  std::int64_t epoch = 0;
};

// Lua that every fenced script starts with. The script's KEYS[1] is the
// lease key and ARGV[1], ARGV[2] the owner and epoch; an empty owner means
// no fence. A write under a lease that is gone or held by another owner or
// epoch returns the error reply "LEASELOST ...", before anything changes.
const std::string& lua_fence_check();

// The first keys and arguments of a fenced script for `fence`; without one,
// `unfenced_key` stands in for the lease key and the owner is empty.
std::vector<std::string> fence_keys(const std::optional<Fence>& fence, const std::string& unfenced_key);
std::vector<std::string> fence_args(const std::optional<Fence>& fence);

// A script's reply as an error: a LEASELOST reply is busy with code
// k_lease_lost_code, saying that `what` was refused; other error replies
// as reply_error() maps them.
util::Error script_error(const Reply& reply, const std::string& what, const std::string& where);

}  // namespace pipeline::redis

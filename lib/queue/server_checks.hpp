#pragma once

#include <optional>
#include <string>

#include "lib/redis/redis_connection.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::queue {

// Whether a Redis server is fit to hold a queue.
struct ServerFitness {
  std::string maxmemory_policy;  // from INFO memory; empty when not reported
  bool persistent = true;        // AOF on, or RDB snapshots configured (unknown counts as persistent)
};

// Reads the eviction policy (INFO memory) and the persistence settings
// (INFO persistence, CONFIG GET save where the server allows CONFIG).
util::Expected<ServerFitness> check_server(redis::Connection& connection);

// Why a worker must not start on this server: it evicts keys, so jobs could
// vanish; nullopt when it does not (noeviction).
std::optional<std::string> eviction_refusal(const ServerFitness& fitness, const std::string& where);

}  // namespace pipeline::queue

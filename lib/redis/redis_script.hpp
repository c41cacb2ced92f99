#pragma once

#include <string>
#include <vector>

#include "lib/redis/redis_connection.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::redis {

// A Lua script run on the server, atomically: sent by its SHA-1 (EVALSHA),
// and in full (EVAL) only when the server does not know it yet (NOSCRIPT),
// which also loads it for the next call.
class Script {
 public:
  explicit Script(std::string source);

  const std::string& source() const { return m_source; }
  const std::string& sha1() const { return m_sha1; }

  // The script's reply; an error reply comes back as a Reply, as for any command.
  util::Expected<Reply> run(Connection& connection, const std::vector<std::string>& keys,
                            const std::vector<std::string>& args) const;

 private:
  std::string m_source;
  std::string m_sha1;
};

}  // namespace pipeline::redis

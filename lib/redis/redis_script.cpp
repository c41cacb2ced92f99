#include "lib/redis/redis_script.hpp"

#include <openssl/evp.h>

#include "lib/util/hex.hpp"

namespace pipeline::redis {
namespace {

// Lowercase hex SHA-1, the name Redis gives a script.
std::string script_sha1(const std::string& source) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(source.data(), source.size(), digest, &length, EVP_sha1(), nullptr);
  return util::to_hex(std::string_view(reinterpret_cast<const char*>(digest), length));
}

}  // namespace

Script::Script(std::string source) : m_source(std::move(source)), m_sha1(script_sha1(m_source)) {}

util::Expected<Reply> Script::run(Connection& connection, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args) const {
  Command command{"EVALSHA", m_sha1, std::to_string(keys.size())};
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  auto reply = connection.command(command);
  if (!reply || !reply->is_error() || reply->error_code() != "NOSCRIPT") return reply;
  command[0] = "EVAL";
  command[1] = m_source;
  return connection.command(command);
}

}  // namespace pipeline::redis

#include "lib/queue/server_checks.hpp"

#include <fmt/format.h>

namespace pipeline::queue {
namespace {

// The value of `name:` in an INFO reply, empty when absent.
std::string server_info_field(const std::string& info, const std::string& name) {
  const std::string key = "\n" + name + ":";
  const std::string text = "\n" + info;
  const auto at = text.find(key);
  if (at == std::string::npos) return {};
  const auto start = at + key.size();
  const auto end = text.find_first_of("\r\n", start);
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

util::Expected<ServerFitness> check_server(redis::Connection& connection) {
  ServerFitness fitness;
  auto memory = redis::expect_success(connection.command({"INFO", "memory"}), "checking the server", connection.where());
  if (!memory) return memory.error();
  fitness.maxmemory_policy = server_info_field(memory->text, "maxmemory_policy");
  auto persistence =
      redis::expect_success(connection.command({"INFO", "persistence"}), "checking the server", connection.where());
  if (!persistence) return persistence.error();
  const bool aof = server_info_field(persistence->text, "aof_enabled") == "1";
  // Managed servers often refuse CONFIG; they persist on their own terms.
  auto save = connection.command({"CONFIG", "GET", "save"});
  if (!save) return save.error();
  bool rdb = true;
  if (!save->is_error() && save->elements.size() >= 2) rdb = !save->elements[1].text.empty();
  fitness.persistent = aof || rdb;
  return fitness;
}

std::optional<std::string> eviction_refusal(const ServerFitness& fitness, const std::string& where) {
  if (fitness.maxmemory_policy.empty() || fitness.maxmemory_policy == "noeviction") return std::nullopt;
  return fmt::format("Redis at {} evicts keys (maxmemory-policy {}), so queued jobs could vanish; set "
                     "maxmemory-policy noeviction for the queue's server",
                     where, fitness.maxmemory_policy);
}

}  // namespace pipeline::queue

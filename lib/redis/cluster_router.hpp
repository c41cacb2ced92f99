#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/redis/redis_connection.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::redis {

// The slot of the keys a command names (its first key decides), or nullopt
// for a command without keys (PING, INFO, SCAN, EVALSHA with no keys...).
std::optional<int> command_slot(const Command& command);

// A Redis Cluster behind one Connection (docs/queue.md, "Redis Cluster"):
// reads the slot map with CLUSTER SLOTS from the seed node or any node it
// knows, keeps one connection per node, sends each command to the master of
// its key's slot, and follows MOVED (the slot moved: the map is read again)
// and ASK (the slot is migrating: ASKING, then the command, on the node
// named) redirections. A command refused with a redirection was not run, so
// sending it again is safe; a connection that breaks mid-command is an error
// for the caller, as with one server, and the map is read again first thing
// next time. Not thread-safe.
class ClusterRouter {
 public:
  explicit ClusterRouter(ConnectOptions seed);
  ~ClusterRouter();

  // Reads the slot map unless it has one.
  util::Expected<void> connect();
  bool connected() const { return !m_nodes.empty(); }
  void close();

  // The replies of the commands, in order. Commands of one node go to it as
  // one pipeline, in their order; a command without keys goes to the node of
  // the nearest command before it with keys (so MULTI ... EXEC stays on one
  // node), else of the one after it, else to any master.
  util::Expected<std::vector<Reply>> pipeline(const std::vector<Command>& commands);

  // Every key matching `pattern` on every master (SCAN on each).
  util::Expected<std::vector<std::string>> scan_keys(const std::string& pattern, int count);

 private:
  struct Node {
    std::string host;
    int port = 0;
  };
  // pipeline(), trying again on a fresh map up to `retries` times when a
  // node cannot be reached (the commands were not sent).
  util::Expected<std::vector<Reply>> send(const std::vector<Command>& commands, int retries);
  util::Expected<void> refresh();
  util::Expected<void> read_slots(Connection& connection, const std::string& asked_host);
  int node_index(const std::string& host, int port);
  Connection& node_connection(int index);
  // The node index a redirection names ("MOVED 3999 127.0.0.1:6381").
  std::optional<std::pair<int, int>> redirection(const Reply& reply, const std::string& asked_host);
  util::Expected<Reply> follow(const Command& command, Reply reply, int asked);
  int any_master() const;

  ConnectOptions m_seed;
  std::vector<Node> m_nodes;
  std::vector<int> m_slot_node;  // node index per slot, -1 for none
  std::map<int, std::unique_ptr<Connection>> m_connections;
  bool m_stale = true;
};

}  // namespace pipeline::redis

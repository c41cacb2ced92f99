#include "lib/redis/cluster_router.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "lib/redis/cluster_slot.hpp"
#include "lib/util/text.hpp"

namespace pipeline::redis {
namespace {

using util::ErrorKind;

// How many redirections one command may follow before it is an error.
constexpr int k_max_redirections = 5;

std::string upper_name(const std::string& name) {
  std::string upper = name;
  for (auto& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return upper;
}

std::optional<int> parse_int(std::string_view text) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// True for a node endpoint that means "the host you asked" (CLUSTER SLOTS
// gives NULL, and "" or "?" for an endpoint it does not know).
bool unknown_endpoint(const Reply& endpoint) {
  return endpoint.is_nil() || endpoint.text.empty() || endpoint.text == "?";
}

bool is_address(const std::string& host) {
  in6_addr v6{};
  in_addr v4{};
  return ::inet_pton(AF_INET, host.c_str(), &v4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

util::Error cluster_error(const std::string& where, const std::string& what) {
  return util::fail(ErrorKind::transient, fmt::format("Redis Cluster at {}: {}", where, what),
                    k_connection_error_code);
}

}  // namespace

std::optional<int> command_slot(const Command& command) {
  if (command.empty()) return std::nullopt;
  const std::string name = upper_name(command[0]);
  static const std::set<std::string> keyless = {
      "PING",  "INFO",   "CONFIG",    "SCAN",   "CLUSTER", "TIME",   "SCRIPT", "DBSIZE", "FLUSHALL",
      "FLUSHDB", "AUTH", "SELECT",    "ASKING", "READONLY", "HELLO", "CLIENT", "COMMAND", "KEYS",
      "WAIT",  "RANDOMKEY", "ROLE",   "LASTSAVE", "MULTI", "EXEC",   "DISCARD", "ECHO",  "FUNCTION"};
  if (keyless.count(name)) return std::nullopt;
  if (name == "EVAL" || name == "EVALSHA" || name == "EVAL_RO" || name == "EVALSHA_RO" || name == "FCALL" ||
      name == "FCALL_RO") {
    const auto count = command.size() > 2 ? parse_int(command[2]) : std::nullopt;
    if (!count || *count <= 0 || command.size() < 4) return std::nullopt;
    return key_slot(command[3]);
  }
  if (name == "XREAD" || name == "XREADGROUP") {
    for (std::size_t i = 1; i + 1 < command.size(); ++i) {
      if (upper_name(command[i]) == "STREAMS") return key_slot(command[i + 1]);
    }
    return std::nullopt;
  }
  // Subcommand first, then the key: XGROUP CREATE key, XINFO GROUPS key,
  // MEMORY USAGE key, OBJECT ENCODING key.
  if (name == "XGROUP" || name == "XINFO" || name == "MEMORY" || name == "OBJECT") {
    if (command.size() < 3) return std::nullopt;
    return key_slot(command[2]);
  }
  if (command.size() < 2) return std::nullopt;
  return key_slot(command[1]);
}

ClusterRouter::ClusterRouter(ConnectOptions seed) : m_seed(std::move(seed)), m_slot_node(k_cluster_slots, -1) {}

ClusterRouter::~ClusterRouter() = default;

void ClusterRouter::close() {
  m_connections.clear();
  m_stale = true;
}

util::Expected<void> ClusterRouter::connect() {
  if (!m_stale && !m_nodes.empty()) return {};
  return refresh();
}

int ClusterRouter::node_index(const std::string& host, int port) {
  for (std::size_t i = 0; i < m_nodes.size(); ++i) {
    if (m_nodes[i].host == host && m_nodes[i].port == port) return static_cast<int>(i);
  }
  m_nodes.push_back({host, port});
  return static_cast<int>(m_nodes.size() - 1);
}

Connection& ClusterRouter::node_connection(int index) {
  auto& slot = m_connections[index];
  if (!slot) {
    ConnectOptions options = m_seed;
    options.url.cluster = false;
    options.url.db = 0;
    options.url.host = m_nodes[static_cast<std::size_t>(index)].host;
    options.url.port = m_nodes[static_cast<std::size_t>(index)].port;
    // A managed service may announce its nodes by address while its
    // certificate names the host the URL gave: that name is checked then.
    if (options.tls_name.empty() && is_address(options.url.host) && !is_address(m_seed.url.host)) {
      options.tls_name = m_seed.url.host;
    }
    slot = std::make_unique<Connection>(std::move(options));
  }
  return *slot;
}

util::Expected<void> ClusterRouter::read_slots(Connection& connection, const std::string& asked_host) {
  auto reply = connection.command({"CLUSTER", "SLOTS"});
  if (!reply) return reply.error();
  if (reply->is_error()) return reply_error(*reply, "reading the cluster's slot map", m_seed.url.masked());
  std::vector<int> slots(k_cluster_slots, -1);
  for (const auto& range : reply->elements) {
    if (range.elements.size() < 3 || !range.elements[0].is_integer() || !range.elements[1].is_integer()) continue;
    const auto& master = range.elements[2];
    if (master.elements.size() < 2 || !master.elements[1].is_integer()) continue;
    const std::string host = unknown_endpoint(master.elements[0]) ? asked_host : master.elements[0].text;
    const int index = node_index(host, static_cast<int>(master.elements[1].integer));
    const long long first = std::max(0LL, range.elements[0].integer);
    const long long last = std::min<long long>(k_cluster_slots - 1, range.elements[1].integer);
    for (long long slot = first; slot <= last; ++slot) slots[static_cast<std::size_t>(slot)] = index;
  }
  if (std::all_of(slots.begin(), slots.end(), [](int index) { return index < 0; })) {
    return cluster_error(m_seed.url.masked(), "CLUSTER SLOTS lists no slot: the cluster is not set up yet");
  }
  m_slot_node = std::move(slots);
  return {};
}

util::Expected<void> ClusterRouter::refresh() {
  // The nodes known, then the seed: any one that answers gives the map.
  std::vector<int> candidates;
  for (std::size_t i = 0; i < m_nodes.size(); ++i) candidates.push_back(static_cast<int>(i));
  const int seed = node_index(m_seed.url.host, m_seed.url.port);
  candidates.erase(std::remove(candidates.begin(), candidates.end(), seed), candidates.end());
  candidates.insert(candidates.begin(), seed);
  std::optional<util::Error> last;
  for (const int index : candidates) {
    auto& connection = node_connection(index);
    auto read = read_slots(connection, m_nodes[static_cast<std::size_t>(index)].host);
    if (read) {
      m_stale = false;
      return {};
    }
    // A login refused or a certificate not trusted will not get better.
    if (read.error().kind == ErrorKind::bad_input) return read.error();
    last = read.error();
  }
  return last ? *last : cluster_error(m_seed.url.masked(), "no node answered");
}

int ClusterRouter::any_master() const {
  for (const int index : m_slot_node) {
    if (index >= 0) return index;
  }
  return 0;
}

std::optional<std::pair<int, int>> ClusterRouter::redirection(const Reply& reply, const std::string& asked_host) {
  // "MOVED <slot> <host>:<port>" or "ASK ..."; the host may be empty.
  const auto first = reply.text.find(' ');
  const auto second = first == std::string::npos ? std::string::npos : reply.text.find(' ', first + 1);
  if (second == std::string::npos) return std::nullopt;
  const std::string address = reply.text.substr(second + 1);
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  const auto slot = parse_int(std::string_view(reply.text).substr(first + 1, second - first - 1));
  const auto port = parse_int(std::string_view(address).substr(colon + 1));
  if (!slot || !port || *slot < 0 || *slot >= k_cluster_slots) return std::nullopt;
  std::string host = address.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "?") host = asked_host;
  return std::make_pair(*slot, node_index(host, *port));
}

util::Expected<Reply> ClusterRouter::follow(const Command& command, Reply reply, int asked) {
  for (int hop = 0; hop < k_max_redirections; ++hop) {
    const std::string code = reply.error_code();
    if (code != "MOVED" && code != "ASK") return reply;
    const auto target = redirection(reply, m_nodes[static_cast<std::size_t>(asked)].host);
    if (!target) return reply;
    asked = target->second;
    auto& connection = node_connection(asked);
    if (code == "MOVED") {
      // The slot has a new owner for good: the whole map is read again
      // before the next call, and this command goes there now.
      m_slot_node[static_cast<std::size_t>(target->first)] = asked;
      m_stale = true;
      auto again = connection.command(command);
      if (!again) return again.error();
      reply = std::move(*again);
    } else {
      // Only this command goes to the importing node, after ASKING.
      auto again = connection.pipeline({{"ASKING"}, command});
      if (!again) return again.error();
      reply = std::move((*again)[1]);
    }
  }
  return reply;
}

util::Expected<std::vector<Reply>> ClusterRouter::pipeline(const std::vector<Command>& commands) {
  return send(commands, 2);
}

util::Expected<std::vector<Reply>> ClusterRouter::send(const std::vector<Command>& commands, int retries) {
  if (m_stale || m_nodes.empty()) {
    auto refreshed = refresh();
    // An old map still routes most commands; without one there is nothing to do.
    if (!refreshed && std::all_of(m_slot_node.begin(), m_slot_node.end(), [](int i) { return i < 0; })) {
      return refreshed.error();
    }
  }
  std::vector<std::optional<int>> slots;
  slots.reserve(commands.size());
  for (const auto& command : commands) slots.push_back(command_slot(command));
  std::vector<int> targets(commands.size(), -1);
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (slots[i]) targets[i] = m_slot_node[static_cast<std::size_t>(*slots[i])];
  }
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (slots[i]) continue;
    for (std::size_t j = i; j-- > 0;) {
      if (slots[j]) {
        targets[i] = targets[j];
        break;
      }
    }
    for (std::size_t j = i + 1; targets[i] < 0 && j < commands.size(); ++j) {
      if (slots[j]) targets[i] = targets[j];
    }
  }
  for (auto& target : targets) {
    if (target < 0) target = any_master();
  }
  std::map<int, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < commands.size(); ++i) groups[targets[i]].push_back(i);
  std::vector<Reply> replies(commands.size());
  for (const auto& [node, indexes] : groups) {
    std::vector<Command> batch;
    for (const auto index : indexes) batch.push_back(commands[index]);
    auto& connection = node_connection(node);
    // A node that cannot be reached got none of the commands: after a
    // failover the map names its successor.
    if (auto connected = connection.connect(); !connected) {
      m_stale = true;
      if (connected.error().kind == ErrorKind::bad_input) return connected.error();
      if (retries <= 0 || !refresh()) return connected.error();
      auto retried = send(batch, retries - 1);
      if (!retried) return retried.error();
      for (std::size_t k = 0; k < indexes.size(); ++k) replies[indexes[k]] = std::move((*retried)[k]);
      continue;
    }
    auto answered = connection.pipeline(batch);
    if (!answered) {
      m_stale = true;
      return answered.error();
    }
    for (std::size_t k = 0; k < indexes.size(); ++k) {
      auto followed = follow(commands[indexes[k]], std::move((*answered)[k]), node);
      if (!followed) {
        m_stale = true;
        return followed.error();
      }
      replies[indexes[k]] = std::move(*followed);
    }
  }
  return replies;
}

util::Expected<std::vector<std::string>> ClusterRouter::scan_keys(const std::string& pattern, int count) {
  if (auto connected = connect(); !connected) return connected.error();
  std::set<int> masters(m_slot_node.begin(), m_slot_node.end());
  masters.erase(-1);
  std::vector<std::string> keys;
  for (const int node : masters) {
    auto& connection = node_connection(node);
    std::string cursor = "0";
    do {
      auto page = connection.command({"SCAN", cursor, "MATCH", pattern, "COUNT", std::to_string(count)});
      if (!page) {
        m_stale = true;
        return page.error();
      }
      if (page->is_error()) return reply_error(*page, "listing keys", connection.where());
      if (page->elements.size() < 2) break;
      cursor = page->elements[0].text;
      for (const auto& key : page->elements[1].elements) keys.push_back(key.text);
    } while (cursor != "0");
  }
  return keys;
}

}  // namespace pipeline::redis

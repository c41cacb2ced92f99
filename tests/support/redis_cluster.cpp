#include "tests/support/redis_cluster.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "tests/support/eventually.hpp"

namespace pipeline::testing {

RedisCluster::RedisCluster(RedisClusterOptions options) : m_options(std::move(options)) {
  const int count = m_options.masters * (1 + m_options.replicas_per_master);
  for (int i = 0; i < count; ++i) {
    RedisServerOptions node;
    node.appendonly = m_options.appendonly;
    node.tls = m_options.tls;
    node.tls_files = m_options.tls_files;
    // A replica that never finished its first sync cannot be promoted: it
    // starts at once (the default waits 5 s for more replicas).
    node.extra_args = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout",
                       std::to_string(m_options.node_timeout_ms), "--repl-diskless-sync-delay", "0"};
    if (m_options.tls) node.extra_args.insert(node.extra_args.end(), {"--tls-cluster", "yes", "--tls-replication", "yes"});
    m_nodes.push_back(std::make_unique<RedisServer>(node));
  }
  std::vector<std::string> argv{"redis-cli"};
  if (m_options.tls) argv.insert(argv.end(), {"--tls", "--cacert", m_options.tls_files.ca_cert});
  argv.insert(argv.end(), {"--cluster", "create"});
  for (const auto& node : m_nodes) argv.push_back("127.0.0.1:" + std::to_string(node->port()));
  argv.insert(argv.end(), {"--cluster-replicas", std::to_string(m_options.replicas_per_master), "--cluster-yes"});
  const auto created = run_process(argv);
  if (created.exit_code != 0) throw std::runtime_error("redis-cli --cluster create failed: " + created.out + created.err);
  if (!wait_healthy(std::chrono::seconds(30))) throw std::runtime_error("the cluster did not become healthy in 30 s");
  // Every replica has its master's data before the constructor returns.
  const bool synced = eventually(
      [&] {
        for (auto& node : m_nodes) {
          const auto info = command_on(*node, {"INFO", "replication"}).text;
          if (info.find("role:slave") != std::string::npos && info.find("master_link_status:up") == std::string::npos) {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(30));
  if (!synced) throw std::runtime_error("the cluster's replicas did not sync in 30 s");
}

std::string RedisCluster::url() const {
  return std::string(m_options.tls ? "rediss://" : "redis://") + "127.0.0.1:" + std::to_string(m_nodes.front()->port()) +
         "/0?cluster=1";
}

redis::ConnectOptions RedisCluster::connect_options() const {
  redis::ConnectOptions options;
  options.url = redis::parse_redis_url(url()).value_or_throw();
  if (m_options.tls) options.ca_file = m_options.tls_files.ca_cert;
  options.connect_timeout = std::chrono::milliseconds(1000);
  return options;
}

redis::Reply RedisCluster::command_on(RedisServer& node, const redis::Command& command) const {
  auto options = node.connect_options();
  options.connect_timeout = std::chrono::milliseconds(1000);
  options.io_timeout = std::chrono::milliseconds(3000);
  redis::Connection connection(options);
  auto reply = connection.command(command);
  if (!reply) throw std::runtime_error(reply.error().message);
  return *reply;
}

bool RedisCluster::healthy() {
  std::vector<int> live_ports;
  for (auto& node : m_nodes) {
    if (node->running()) live_ports.push_back(node->port());
  }
  for (auto& node : m_nodes) {
    if (!node->running()) continue;
    try {
      if (command_on(*node, {"CLUSTER", "INFO"}).text.find("cluster_state:ok") == std::string::npos) return false;
      const auto slots = command_on(*node, {"CLUSTER", "SLOTS"});
      long long covered = 0;
      for (const auto& range : slots.elements) {
        const int port = static_cast<int>(range.elements[2].elements[1].integer);
        if (std::find(live_ports.begin(), live_ports.end(), port) == live_ports.end()) return false;
        covered += range.elements[1].integer - range.elements[0].integer + 1;
      }
      if (covered != 16384) return false;
    } catch (const std::exception&) {
      return false;
    }
  }
  return true;
}

bool RedisCluster::wait_healthy(std::chrono::milliseconds limit) {
  return eventually([&] { return healthy(); }, limit);
}

RedisServer& RedisCluster::master_of(int slot) {
  for (auto& node : m_nodes) {
    if (!node->running()) continue;
    const auto slots = command_on(*node, {"CLUSTER", "SLOTS"});
    for (const auto& range : slots.elements) {
      if (slot < range.elements[0].integer || slot > range.elements[1].integer) continue;
      const int port = static_cast<int>(range.elements[2].elements[1].integer);
      for (auto& owner : m_nodes) {
        if (owner->port() == port) return *owner;
      }
    }
  }
  throw std::runtime_error("no running node serves slot " + std::to_string(slot));
}

}  // namespace pipeline::testing

#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/redis_server.hpp"

namespace pipeline::testing {

// How a test's Redis Cluster runs.
struct RedisClusterOptions {
  int masters = 3;
  int replicas_per_master = 1;
  // How long a node may be silent before the others fail it over (ms).
  int node_timeout_ms = 1000;
  bool appendonly = false;
  // TLS only, the cluster bus too (--tls-cluster yes), with these files.
  bool tls = false;
  TlsFiles tls_files;
};

// A real Redis Cluster of redis-server processes on 127.0.0.1, each with
// --cluster-enabled yes and its own port and folder, joined by
// `redis-cli --cluster create ... --cluster-replicas N --cluster-yes`; the
// constructor returns once every node reports cluster_state:ok.
class RedisCluster {
 public:
  explicit RedisCluster(RedisClusterOptions options = {});

  // redis://127.0.0.1:<first node's port>/0?cluster=1 (rediss:// with TLS).
  std::string url() const;
  redis::ConnectOptions connect_options() const;

  std::vector<std::unique_ptr<RedisServer>>& nodes() { return m_nodes; }
  // The node that serves `slot` as master now, as a running node sees it.
  RedisServer& master_of(int slot);
  // Waits until every running node says cluster_state:ok and maps every
  // slot to a running master; whether that happened within `limit`.
  bool wait_healthy(std::chrono::milliseconds limit);
  // One command on a running node (a plain connection, no redirection).
  redis::Reply command_on(RedisServer& node, const redis::Command& command) const;

 private:
  bool healthy();
  RedisClusterOptions m_options;
  std::vector<std::unique_ptr<RedisServer>> m_nodes;
};

}  // namespace pipeline::testing

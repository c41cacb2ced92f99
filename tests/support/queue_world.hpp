#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/fake_server/fake_llm_server.hpp"
#include "tests/support/cli_env.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"

namespace pipeline::testing {

// The queue's world for CLI tests: a fake model, a real redis-server as the
// store, and the CLI's environment pointing at both.
struct QueueWorld {
  explicit QueueWorld(RedisServerOptions redis_options = {});
  FakeLlmServer server;
  RedisServer redis;
  CliEnv env;

  // `pipeline worker --lease 3s` with `extra` arguments, running.
  std::unique_ptr<Process> start_worker(const std::vector<std::string>& extra = {}) const;
  // `pipeline submit` of `pdf` as `run_id`; fails the test unless it is queued.
  void submit(const std::string& pdf, const std::string& run_id, const std::string& priority = "normal") const;
  // XADD of `fields` (name, value, ...) to the stream of `priority`, as any
  // program may write it; returns the entry id.
  std::string add(const std::vector<std::string>& fields, const std::string& priority = "normal") const;

  std::map<std::string, std::string> hash(const std::string& key) const;
  std::string job_state(const std::string& id) const { return hash("pipeline:job:" + id)["state"]; }
  std::map<std::string, std::string> status(const std::string& id) const { return hash("pipeline:status:" + id); }
  // Entries waiting or in flight in the three streams.
  long long entries_left() const;
};

}  // namespace pipeline::testing

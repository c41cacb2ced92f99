#include "tests/support/queue_world.hpp"

#include <doctest/doctest.h>

namespace pipeline::testing {

QueueWorld::QueueWorld(RedisServerOptions redis_options) : redis(std::move(redis_options)), env(server) {
  env.options.env["PIPELINE_STORE"] = redis.url();
}

std::unique_ptr<Process> QueueWorld::start_worker(const std::vector<std::string>& extra) const {
  std::vector<std::string> argv{pipeline_binary(), "worker", "--lease", "3s"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<Process>(argv, env.options);
}

void QueueWorld::submit(const std::string& pdf, const std::string& run_id, const std::string& priority) const {
  auto result = env.run({"submit", pdf, "--brand", env.brand_path, "--run-id", run_id, "--priority", priority});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  REQUIRE(result.out.find(run_id) != std::string::npos);
}

std::string QueueWorld::add(const std::vector<std::string>& fields, const std::string& priority) const {
  redis::Command command{"XADD", "pipeline:jobs:" + priority, "*"};
  command.insert(command.end(), fields.begin(), fields.end());
  return redis.command(command).text;
}

std::map<std::string, std::string> QueueWorld::hash(const std::string& key) const {
  const auto reply = redis.command({"HGETALL", key});
  std::map<std::string, std::string> fields;
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) fields[reply.elements[i].text] = reply.elements[i + 1].text;
  return fields;
}

long long QueueWorld::entries_left() const {
  long long left = 0;
  for (const char* priority : {"high", "normal", "low"}) {
    left += redis.command({"XLEN", std::string("pipeline:jobs:") + priority}).integer;
  }
  return left;
}

}  // namespace pipeline::testing

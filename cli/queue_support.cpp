#include "cli/queue_support.hpp"

#include "cli/run_support.hpp"
#include "lib/notify/webhook_url.hpp"
#include "lib/util/error.hpp"

namespace pipeline::cli {

std::unique_ptr<checkpoints::RedisRunStore> open_queue_store(const GlobalOptions& options, const std::string& what) {
  auto store = open_store(options);
  auto* redis_store = dynamic_cast<checkpoints::RedisRunStore*>(store.get());
  if (!redis_store) {
    throw util::FatalError(util::ErrorKind::usage,
                           what + " needs a Redis store, where the queue lives: --store redis://host:port/db "
                                  "(or rediss://, or PIPELINE_STORE); a folder store has no queue");
  }
  store.release();
  return std::unique_ptr<checkpoints::RedisRunStore>(redis_store);
}

nlohmann::json job_json(const queue::Job& job) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [name, value] : job.to_fields()) json[name] = value;
  json["attempts"] = job.attempts;
  json["deaths"] = job.deaths;
  // The webhook URL's query or user name may hold the receiver's token.
  if (!job.notify.empty()) json["notify"] = notify::redacted_url(job.notify);
  return json;
}

}  // namespace pipeline::cli

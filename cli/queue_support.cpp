#include "cli/queue_support.hpp"

#include <fmt/format.h>

#include "cli/run_support.hpp"
#include "lib/notify/webhook_url.hpp"
#include "lib/util/error.hpp"
#include "lib/util/time.hpp"

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

void add_run_ttl_option(CLI::App* command, std::string& ttl) {
  command->add_option("--ttl", ttl,
                      "How long a run lives on in Redis once its job is done or failed (e.g. 30d): then its checkpoint, "
                      "files, events and job expire together (default: for ever)")
      ->envname("PIPELINE_RUN_TTL")
      ->type_name("DURATION");
}

std::chrono::milliseconds parse_run_ttl(const std::string& text) {
  if (text.empty()) return std::chrono::milliseconds(0);
  const auto ttl = util::parse_duration(text);
  if (!ttl || *ttl < std::chrono::seconds(1) || *ttl > std::chrono::hours(24 * 365 * 60)) {
    throw util::FatalError(util::ErrorKind::usage,
                           fmt::format("--ttl takes a duration of 1s or more such as 30d or 12h, not \"{}\"", text));
  }
  return std::chrono::duration_cast<std::chrono::seconds>(*ttl);
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

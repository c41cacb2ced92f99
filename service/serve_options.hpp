#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lib/queue/job_source.hpp"

namespace pipeline::service {

// How `pipeline serve` serves (docs/http-api.md).
struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  // Folder store: threads that run jobs; Redis store: worker slots in this
  // process besides any `pipeline worker` (0: none, queue only).
  int workers = 2;
  std::uint64_t max_upload_bytes = 50ull * 1024 * 1024;
  // Origins a browser may call the API from (CORS); empty: none but the page's own.
  std::vector<std::string> cors_origins;
  // Service tokens; empty: no authentication (loopback only).
  std::vector<std::string> tokens;
  // Signs read tokens; nullopt: derived from the service tokens.
  std::optional<std::string> signing_key;
  std::chrono::seconds read_token_ttl{3600};
  std::chrono::milliseconds sse_keepalive{15000};
  std::chrono::milliseconds drain_timeout{25000};
  // Connections served at once (each on a thread of its own) and, of them,
  // event streams; the rest of the connections stay free for other requests.
  std::size_t max_connections = 512;
  std::size_t max_event_streams = 448;
  // Redis store: how long a run lives on once its job is over (--ttl), for
  // the jobs it queues and its worker slots; 0: for ever.
  std::chrono::milliseconds run_ttl{0};
  // Where source_url jobs may read documents (as `pipeline worker`'s).
  queue::SourcePolicy sources;
  // Lines for people (the address it listens on, jobs, the drain); may be null.
  std::function<void(const std::string& line)> log;
  // Called once the server accepts connections, with its base URL.
  std::function<void(const std::string& url)> on_listening;
};

}  // namespace pipeline::service

#pragma once

// What the handlers of `pipeline serve` share: the server's parts (store,
// job board, tokens, metrics) and the plumbing of one exchange (a token's
// access, JSON and problem answers).

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "checkpoints/run_store.hpp"
#include "service/access_tokens.hpp"
#include "service/http_problem.hpp"
#include "service/idempotency_keys.hpp"
#include "service/job_board.hpp"
#include "service/run_bell.hpp"
#include "service/run_settings.hpp"
#include "service/serve_metrics.hpp"
#include "service/serve_options.hpp"

namespace pipeline::service {

struct ServeContext {
  const RunSettings& settings;
  const ServeOptions& options;
  checkpoints::RunStore& store;
  JobBoard& board;
  IdempotencyKeys& idempotency;
  const AccessTokens& tokens;
  ServeMetrics& metrics;
  RunBell& bell;
  // How often an event stream looks at the store when no bell rang.
  std::chrono::milliseconds event_poll{250};
  // Set when serve stops: event streams end, new runs are refused.
  std::atomic<bool> stopping{false};
};

// The token a request carries: `Authorization: Bearer <token>`, else the
// access_token query parameter (a browser's EventSource sets no headers).
std::string request_token(const httplib::Request& request);

// What the request may do. Without tokens configured, everything (service).
Access request_access(const ServeContext& context, const httplib::Request& request);

void send_json(httplib::Response& response, int status, const nlohmann::json& body);
void send_problem(httplib::Response& response, const Problem& problem);

// Answers 401 (no valid token) or 403 (a token that does not reach this) and
// returns false unless the request may use the whole API.
bool require_service(const ServeContext& context, const httplib::Request& request, httplib::Response& response);
// The same for reading one run, which its read token may do too.
bool require_run_reader(const ServeContext& context, const httplib::Request& request, httplib::Response& response,
                        const std::string& run_id);

}  // namespace pipeline::service

#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "lib/llm/chat.hpp"
#include "lib/llm/client_config.hpp"
#include "lib/llm/concurrency_limit.hpp"
#include "lib/llm/curl_transport.hpp"
#include "lib/llm/model_parameters.hpp"
#include "lib/llm/rate_limiter.hpp"
#include "lib/llm/request_gate.hpp"
#include "lib/llm/retry_policy.hpp"
#include "lib/llm/structured_ladder.hpp"
#include "lib/util/key_latch.hpp"

namespace pipeline::llm {

// The request headers every call sends: JSON content type, the User-Agent
// "pipeline/<version>", OpenRouter's attribution headers, and the bearer key
// only when one is set.
std::vector<std::string> request_headers(const ClientConfig& config);

// The provider profile for requests of `model`: --schema-dialect, else detected.
ProviderProfile provider_profile(const ClientConfig& config, const std::string& model);

// What `model` takes before anything is learned by a client:
// config.model_parameters, else the table (table_parameters).
ModelParameters configured_parameters(const ClientConfig& config, const std::string& model);

// The JSON body of POST {base}/chat/completions for `messages`, asking for
// structured output on `rung` the way `profile` accepts it, with only the
// parameters the model takes (`parameters`), and a schema laid out in its
// authored order (wire_order.hpp).
nlohmann::ordered_json chat_request_body(const ChatRequest& request, const std::vector<Message>& messages,
                                         const ClientConfig& config, const ProviderProfile& profile,
                                         StructuredRung rung, const ModelParameters& parameters);

// A ChatClient speaking the OpenAI chat-completions protocol over libcurl:
// streamed (SSE) or whole answers, structured output with validation (schema,
// then ChatRequest::check) and re-asks, retries with backoff, idle and total
// timeouts, cancellation, and at most config.max_concurrency requests in
// flight. Every HTTP attempt first takes a turn from the client's RequestGate
// (a Retry-After pauses every request of the client; without a shared
// config.rate_limiter, config.requests_per_minute spaces the starts too), then a turn from the rate limiter (config.rate_limiter: --rpm,
// --tpm and the provider's x-ratelimit-* headers, per host, model and key,
// charged the estimated prompt plus max_tokens and settled from the usage;
// a 429 pauses the whole scope) and, with config.spend_guard, reserves its
// worst-case cost, failing with cost_limit unsent when that could pass the
// cap. Thread-safe.
class HttpChatClient final : public ChatClient {
 public:
  explicit HttpChatClient(ClientConfig config);

  util::Expected<ChatResult> complete(const ChatRequest& request, const util::CancelToken& cancel,
                                      const CallObserver& observer = {}) override;

 private:
  struct Answer;
  struct CallState;
  // Sends the request's messages on the ladder's rung, then `reasks`,
  // retrying failed attempts that another attempt may fix and moving down a
  // rung when the provider refuses one.
  util::Expected<Answer> ask_with_retries(const ChatRequest& request, const std::vector<Message>& reasks,
                                          CallState& call);
  Answer attempt_once(const nlohmann::ordered_json& body, CallState& call);
  void report(const Attempt& attempt, CallState& call);
  // Teaches the limiter what the answer's headers said, pauses the scope on
  // a 429, and settles the ticket from the answer's usage.
  void settle_rate(const RateRequest& rate, const RateTicket& ticket, const Answer& answer, int max_tokens);
  // What `model` takes now: learned this run, else config.model_parameters, else the table.
  ModelParameters parameters_of(const std::string& model);
  // Whether the parameters of `model` can be trusted without a first answer:
  // the table or config.model_parameters knew them, or a request was answered.
  bool parameters_settled(const std::string& model);

  ClientConfig m_config;
  RetryPolicy m_retry;
  CurlTransport m_transport;
  ConcurrencyLimit m_limit;
  RequestGate m_gate;
  std::shared_ptr<RateLimiter> m_rate_limiter;
  StructuredLadder m_ladder;
  // What each model takes, as learned by this client. Until a request of a
  // model that neither the table nor the config knows has been answered once,
  // its requests go one at a time (m_parameter_probes), so parallel requests
  // pay at most one refusal per parameter between them.
  std::mutex m_parameters_mutex;
  std::map<std::string, ModelParameters> m_parameters;
  std::set<std::string> m_settled;
  util::KeyLatch m_parameter_probes;
};

}  // namespace pipeline::llm

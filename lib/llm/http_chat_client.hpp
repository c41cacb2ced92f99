#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lib/llm/chat.hpp"
#include "lib/llm/client_config.hpp"
#include "lib/llm/concurrency_limit.hpp"
#include "lib/llm/curl_transport.hpp"
#include "lib/llm/retry_policy.hpp"

namespace pipeline::llm {

// The request headers every call sends: JSON content type, the User-Agent
// "pipeline/<version>", OpenRouter's attribution headers, and the bearer key
// only when one is set.
std::vector<std::string> request_headers(const ClientConfig& config);

// The JSON body of POST {base}/chat/completions for `messages`.
nlohmann::json chat_request_body(const ChatRequest& request, const std::vector<Message>& messages,
                                 const ClientConfig& config);

// A ChatClient speaking the OpenAI chat-completions protocol over libcurl:
// streamed (SSE) or whole answers, structured output with validation (schema,
// then ChatRequest::check) and re-asks, retries with backoff, idle and total timeouts, cancellation, and
// at most config.max_concurrency requests in flight. Thread-safe.
class HttpChatClient final : public ChatClient {
 public:
  explicit HttpChatClient(ClientConfig config);

  util::Expected<ChatResult> complete(const ChatRequest& request, const util::CancelToken& cancel,
                                      const CallObserver& observer = {}) override;

 private:
  struct Answer;
  struct CallState;
  util::Expected<Answer> ask_with_retries(const nlohmann::json& body, CallState& call);
  Answer attempt_once(const nlohmann::json& body, CallState& call);
  void report(const Attempt& attempt, CallState& call);

  ClientConfig m_config;
  RetryPolicy m_retry;
  CurlTransport m_transport;
  ConcurrencyLimit m_limit;
};

}  // namespace pipeline::llm

#include "tests/support/memory_chat_client.hpp"

#include "lib/llm/request_fingerprint.hpp"
#include "tests/fake_server/fake_llm_server.hpp"

namespace pipeline::testing {

llm::ChatResult MemoryChatClient::default_answer(const llm::ChatRequest& request) {
  llm::ChatResult result;
  const auto fingerprint = llm::request_fingerprint(request);
  const std::uint64_t seed = std::stoull(fingerprint.substr(0, 12), nullptr, 16);
  // The request part of a prompt is followed as the fake server follows it.
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& message : request.messages) messages.push_back({{"role", message.role}, {"content", message.content}});
  result.json = request.schema ? generate_from_schema(*request.schema, seed, request_hint(messages)) : nlohmann::json("answer");
  result.content = result.json.dump();
  result.finish_reason = "stop";
  result.model = request.model;
  result.usage.prompt_tokens = 100;
  result.usage.completion_tokens = static_cast<std::int64_t>(result.content.size() / 4);
  result.usage.cost_usd = 0.001;
  llm::Attempt attempt;
  attempt.number = 1;
  attempt.http_status = 200;
  attempt.usage = result.usage;
  result.attempts.push_back(attempt);
  return result;
}

util::Expected<llm::ChatResult> MemoryChatClient::complete(const llm::ChatRequest& request,
                                                           const util::CancelToken& cancel,
                                                           const llm::CallObserver& observer) {
  Handler handler;
  {
    std::lock_guard lock(m_mutex);
    m_requests.push_back(request);
    handler = m_handler;
  }
  auto result = handler ? handler(request, cancel) : util::Expected<llm::ChatResult>(default_answer(request));
  if (result && observer.on_progress) observer.on_progress(result->usage.completion_tokens);
  if (result && observer.on_attempt && !result->attempts.empty()) observer.on_attempt(result->attempts.back());
  return result;
}

void MemoryChatClient::set_handler(Handler handler) {
  std::lock_guard lock(m_mutex);
  m_handler = std::move(handler);
}

std::vector<llm::ChatRequest> MemoryChatClient::requests() const {
  std::lock_guard lock(m_mutex);
  return m_requests;
}

}  // namespace pipeline::testing

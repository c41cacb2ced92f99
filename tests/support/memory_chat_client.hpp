#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <vector>

#include "lib/llm/chat.hpp"

namespace pipeline::testing {

// An in-memory ChatClient: by default it answers every request with the fake
// server's deterministic JSON for the request's schema, instantly. A handler
// may replace the answer (to fail, to wait for the deadline, ...).
class MemoryChatClient : public llm::ChatClient {
 public:
  using Handler = std::function<util::Expected<llm::ChatResult>(const llm::ChatRequest&, const util::CancelToken&)>;

  util::Expected<llm::ChatResult> complete(const llm::ChatRequest& request, const util::CancelToken& cancel,
                                           const llm::CallObserver& observer = {}) override;

  void set_handler(Handler handler);
  std::vector<llm::ChatRequest> requests() const;

  // The default answer for a request, as complete() gives it.
  static llm::ChatResult default_answer(const llm::ChatRequest& request);

 private:
  mutable std::mutex m_mutex;
  Handler m_handler;
  std::vector<llm::ChatRequest> m_requests;
};

}  // namespace pipeline::testing

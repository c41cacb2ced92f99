#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "lib/llm/chat.hpp"

namespace pipeline::llm {

// The key of a request's recording: its request_fingerprint, with an empty
// model read as `default_model`.
std::string request_hash(const ChatRequest& request, const std::string& default_model);

// Wraps a client and saves every successful call as DIR/<request hash>.json,
// holding the canonical request and the final result.
class RecordingChatClient final : public ChatClient {
 public:
  RecordingChatClient(std::unique_ptr<ChatClient> inner, std::filesystem::path dir, std::string default_model);
  util::Expected<ChatResult> complete(const ChatRequest& request, const util::CancelToken& cancel,
                                      const CallObserver& observer = {}) override;

 private:
  std::unique_ptr<ChatClient> m_inner;
  std::filesystem::path m_dir;
  std::string m_default_model;
};

// Answers only from recordings in DIR, with no network. The result carries the
// recorded content, tokens and model; its cost is 0 because nothing was paid.
// An unseen request fails with bad_input.
class ReplayChatClient final : public ChatClient {
 public:
  ReplayChatClient(std::filesystem::path dir, std::string default_model);
  util::Expected<ChatResult> complete(const ChatRequest& request, const util::CancelToken& cancel,
                                      const CallObserver& observer = {}) override;

 private:
  std::filesystem::path m_dir;
  std::string m_default_model;
};

}  // namespace pipeline::llm

#include "lib/llm/client_config.hpp"
#include "lib/llm/http_chat_client.hpp"
#include "lib/llm/recording_client.hpp"

namespace pipeline::llm {

std::unique_ptr<ChatClient> make_chat_client(const ClientConfig& config) {
  if (!config.replay_dir.empty()) return std::make_unique<ReplayChatClient>(config.replay_dir, config.model);
  std::unique_ptr<ChatClient> client = std::make_unique<HttpChatClient>(config);
  if (!config.record_dir.empty())
    client = std::make_unique<RecordingChatClient>(std::move(client), config.record_dir, config.model);
  return client;
}

}  // namespace pipeline::llm

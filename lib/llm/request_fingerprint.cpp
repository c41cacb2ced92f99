#include "lib/llm/request_fingerprint.hpp"

#include "lib/util/sha256.hpp"

namespace pipeline::llm {

nlohmann::json canonical_request(const ChatRequest& request) {
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& message : request.messages) {
    messages.push_back({{"role", message.role}, {"content", message.content}});
  }
  // nlohmann's default object is ordered by key, so dump() is canonical.
  return {{"model", request.model},
          {"messages", messages},
          {"temperature", request.temperature},
          {"max_tokens", request.max_tokens},
          {"schema", request.schema.value_or(nullptr)},
          {"schema_name", request.schema_name}};
}

std::string request_fingerprint(const ChatRequest& request) {
  // Invalid UTF-8 is replaced, so fingerprinting never throws.
  return util::sha256_hex(canonical_request(request).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace pipeline::llm

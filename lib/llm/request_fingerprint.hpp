#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "lib/llm/chat.hpp"

namespace pipeline::llm {

// The parts of a request that decide its answer (model, messages,
// temperature, max_tokens, schema), as canonical JSON; no key, no headers.
nlohmann::json canonical_request(const ChatRequest& request);

// SHA-256 of canonical_request: equal for requests that must give the same
// answer. Keys recordings, and fingerprints stage outputs in checkpoints.
std::string request_fingerprint(const ChatRequest& request);

}  // namespace pipeline::llm

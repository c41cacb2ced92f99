#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/llm/client_config.hpp"
#include "lib/llm/curl_transport.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::llm {

// One finding of `pipeline doctor`.
struct DoctorCheck {
  std::string name;    // "base_url", "model", "api_key", "models", "model_listed", "ping"
  bool ok = true;
  std::string detail;  // what was found, or what to fix
  nlohmann::json data = nlohmann::json::object();  // machine-readable extras (latency, tokens)
  // What a failure means: provider (a person must fix something), transient
  // (the ping's retries were spent on temporary errors), or interrupted /
  // deadline when the check was stopped before it could tell.
  util::ErrorKind failure_kind = util::ErrorKind::provider;
  nlohmann::json to_json() const;
};

struct DoctorReport {
  std::vector<DoctorCheck> checks;
  bool ok() const;
  // The first check that failed, or nullptr.
  const DoctorCheck* first_failure() const;
  nlohmann::json to_json() const;
};

// The "data" array that GET {base}/models answers, one object per model.
// Errors: provider (refused, unreachable, not an OpenAI-style list),
// interrupted or deadline.
util::Expected<nlohmann::json> fetch_models_list(const ClientConfig& config, CurlTransport& transport,
                                                 const util::CancelToken& cancel);

// The model ids that GET {base}/models lists. Errors: provider (refused,
// unreachable, not an OpenAI-style list), interrupted or deadline.
util::Expected<std::vector<std::string>> list_models(const ClientConfig& config, CurlTransport& transport,
                                                     const util::CancelToken& cancel);

// Whether `model` is among `listed`; a model without a tag also matches its
// ":latest" tag, as Ollama lists "llama3.2:latest" for "llama3.2".
bool model_is_listed(const std::vector<std::string>& listed, const std::string& model);

// Checks the configuration: the base URL, the model, where the key came from
// (shown masked), that GET {base}/models answers and lists the model, and
// with `ping` that a short streamed completion works (latency and tokens;
// an answer cut by the ping's own small max_tokens counts as working).
// Only a ping, or a GET /models that refuses the request without the key,
// verifies the key; otherwise the key check says it was not verified.
// A failed check never stops the report, except that the checks needing the
// server are skipped when the base URL is unusable.
DoctorReport run_doctor(const ClientConfig& config, bool ping, const util::CancelToken& cancel);

}  // namespace pipeline::llm

#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/util/cancel.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::llm {

struct Message {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
  // The prompt up to the end of this message is shared with other requests
  // (of the stage, the run or the batch): a provider that caches only at
  // marked blocks gets a cache breakpoint here (ProviderProfile::cache_control).
  bool cache_break = false;
};

// One chat completion as the stages ask for it.
struct ChatRequest {
  std::string model;
  std::vector<Message> messages;
  // Sent only to models that take it (see model_parameters.hpp).
  double temperature = 0.7;
  // Sent as max_tokens or max_completion_tokens, as the model takes it.
  int max_tokens = 4000;
  // The stage's own limits (stages.json "rpm"/"tpm"); 0: the client's (--rpm, --tpm).
  int requests_per_minute = 0;
  std::int64_t tokens_per_minute = 0;
  // none, minimal, low, medium or high; empty: the client's default
  // (ClientConfig::reasoning_effort), and none sent when that is empty too.
  std::string reasoning_effort;
  // When set, the answer must be JSON valid against this schema; the client
  // validates it and re-asks with the validation error a bounded number of times.
  std::optional<nlohmann::json> schema;
  std::string schema_name = "output";
  // Requests with the same key are likely to share a prompt prefix (one run's
  // stage): sent as prompt_cache_key where the provider takes it; empty: none.
  std::string cache_key;
  // Checks beyond the schema, run on a schema-valid answer: an empty string
  // accepts it; any other text names the problem, and the answer is re-asked
  // like a schema violation. `check` guards the contract (ids, references):
  // an answer it still rejects after the re-asks fails the call.
  // `style_check` guards phrasing: once the re-asks are spent, the answer is
  // kept and the problem becomes a warning. Neither is part of the request's
  // fingerprint.
  std::function<std::string(const nlohmann::json& answer)> check;
  std::function<std::string(const nlohmann::json& answer)> style_check;
};

// Token counts and money for one call or a sum of calls. cost_usd stays
// empty when neither the provider nor configured prices tell it.
struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  // Of the prompt tokens: those read from the provider's prompt cache
  // (cache_write_tokens, below, those written to it).
  std::int64_t cached_tokens = 0;
  std::int64_t reasoning_tokens = 0;
  std::optional<double> cost_usd;
  // Answers whose provider reported no usage: their tokens are unknown, not
  // 0, so they are counted here and guessed (token_estimate.hpp) apart from
  // the reported counts above. In JSON the reported counts are then null
  // when nothing was reported at all.
  std::int64_t unreported_calls = 0;
  std::int64_t estimated_prompt_tokens = 0;
  std::int64_t estimated_completion_tokens = 0;
  // Of the prompt tokens: those written to the provider's prompt cache
  // (billed above the base price by some providers).
  std::int64_t cache_write_tokens = 0;

  Usage& operator+=(const Usage& other);
  nlohmann::json to_json() const;
  static Usage from_json(const nlohmann::json& json);
};

// One HTTP attempt, reported to the caller as it ends.
struct Attempt {
  int number = 0;           // 1-based across the whole call
  int http_status = 0;      // 0 when no response arrived
  // Empty on success, else e.g. "http_429", "timeout", "cut", "stream_error",
  // "invalid_json", "schema_violation" (a contract rule of the schema),
  // "style_violation" (only phrasing rules), "check_failed" (ChatRequest::check
  // said no), "structured_output_refused" (the provider refused the rung: the
  // next one is asked), "parameter_refused" (the provider refused a parameter:
  // the request is asked again without it, or in the form it takes),
  // "first_token_timeout" (nothing came before --first-token-timeout),
  // "idle_timeout" (the answer stalled longer than --idle-timeout).
  std::string error_class;
  std::string message;
  double wait_before_s = 0;  // backoff slept before this attempt
  double duration_s = 0;
  // What the client does next about a failed attempt: "retry" (the same
  // request again after a backoff), "reask" (the answer's problems are sent
  // back), "next_rung" (asked on the next structured-output rung), "kept"
  // (the answer is kept with style warnings), or "" (the call ends here).
  std::string then;
  Usage usage;
  nlohmann::json to_json() const;
};

struct ChatResult {
  std::string content;  // the assistant's text
  nlohmann::json json;  // the parsed answer when the request had a schema
  std::string finish_reason;
  std::string model;  // the model that answered, as the provider reports it
  Usage usage;        // summed over every attempt
  std::vector<Attempt> attempts;
  std::string rung;   // the structured-output rung that answered (to_string(StructuredRung)), when a schema was asked
  // Style rules the kept answer still breaks after every re-ask (see ChatRequest::style_check).
  std::vector<std::string> warnings;
  // What the model thought before answering, when the provider sent it and
  // ClientConfig::keep_reasoning asks to keep it; else empty.
  std::string reasoning;
  // The parameters the model was asked with (ModelParameters::to_json), so a
  // run can keep what was learned of the model for its next invocation.
  nlohmann::json parameters;
};

// Optional callbacks while a call runs; called from the calling thread.
struct CallObserver {
  std::function<void(const Attempt&)> on_attempt;
  std::function<void(std::int64_t completion_tokens_so_far)> on_progress;
};

// Talks to a model. Errors: provider (a person must act: bad key, no credit,
// unknown model, refused request), transient (retries exhausted), deadline or
// interrupted (the token stopped the call), failed (truncated answer, or
// invalid output after every re-ask). Implementations are thread-safe.
class ChatClient {
 public:
  virtual ~ChatClient() = default;
  virtual util::Expected<ChatResult> complete(const ChatRequest& request, const util::CancelToken& cancel,
                                              const CallObserver& observer = {}) = 0;
};

}  // namespace pipeline::llm

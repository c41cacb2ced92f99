#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/fake_server/prompt_cache.hpp"
#include "tests/fake_server/provider_dialect.hpp"
#include "tests/fake_server/provider_limits.hpp"

namespace pipeline::testing {

// What the fake server does with one request, instead of its default answer.
enum class FaultKind {
  none,               // answer normally (use `content` if set, else the default answer)
  http_status,        // reply with `status` and an OpenAI-style error body (429 may carry Retry-After)
  cut_mid_stream,     // send part of a streamed answer, then close the connection
  stall_keepalive,    // send headers, then only ": OPENROUTER PROCESSING" comments for `stall` time
  error_chunk_openai, // HTTP 200 stream whose event is {"error": {...}}
  error_chunk_openrouter, // HTTP 200 stream with a chunk carrying "error" and finish_reason "error"
  truncated,          // a normal answer whose finish_reason is "length"
  invalid_json,       // content that is not JSON (when a schema was asked for)
  ignore_stream,      // a whole JSON answer even to a stream request: headers at once, the body
                      // in eight parts spread over `stall`
  echo_authorization, // reply with `status` (401 unless it is an error status) and an error body
                      // quoting the request's Authorization header, as some providers do
  raw,                // reply with `status` and `content_type`, then send `raw_pieces` byte for byte,
                      // in order, with `stall` before each piece after the first
};

struct ScriptedReply {
  FaultKind fault = FaultKind::none;
  int status = 200;
  std::optional<std::string> retry_after;  // header value for http_status faults
  std::optional<std::string> content;      // assistant text to send instead of the default
  std::chrono::milliseconds stall{0};
  // Only requests whose body contains this text take this reply (empty: any request).
  std::string match;
  // For raw replies: the body's pieces, sent verbatim, and its Content-Type.
  std::vector<std::string> raw_pieces;
  std::string content_type = "text/event-stream";
};

// Speed of the default answers: delay before the first token and tokens per second (0 = instant).
struct Pace {
  std::chrono::milliseconds first_token{0};
  double tokens_per_second = 0;
};

// A real OpenAI-compatible HTTP server on 127.0.0.1 and a free port, for tests
// and benchmarks. POST /v1/chat/completions, streaming (SSE, with a usage chunk
// when stream_options.include_usage) or not; GET /v1/models; both also under
// /api/v1 and as absolute request targets, so that it can stand in for a
// provider's host as an HTTP proxy (http_proxy=http://127.0.0.1:<port>).
// Default answer: when the request carries a JSON schema (response_format
// json_schema, or a schema in a message between the client's markers
// "<json-schema>" and "</json-schema>", see lib/llm/structured_output.hpp)
// a JSON document valid against it,
// generated deterministically from a hash of the request; otherwise a short
// deterministic text. Usage is reported with prompt tokens (characters of the
// messages / 4), completion tokens (characters of the answer / 4), both at
// least 1, and usage.cost at $1 per million prompt and $2 per million
// completion tokens (see fake_usage()), so sums can be checked.
class FakeLlmServer {
 public:
  // Listens on `port`, or on a free port when it is 0; throws std::runtime_error
  // when the port cannot be bound.
  explicit FakeLlmServer(int port = 0);
  ~FakeLlmServer();

  // e.g. "http://127.0.0.1:40123/v1"
  std::string base_url() const;
  int port() const;

  // Replies used by the next matching requests, in order; once used they are gone.
  void enqueue(ScriptedReply reply);
  void set_pace(Pace pace);
  // Whether GET /v1/models gives each model's prices, as OpenRouter's list
  // does ($1 and $2 per million prompt and completion tokens, as usage.cost).
  void set_list_prices(bool list);
  // Whether GET /v1/models gives each model's supported_parameters when the
  // server plays OpenRouter (default), or leaves them out as for a model it does not describe.
  void set_list_parameters(bool list);
  // Plays a real provider: refuses what it refuses, with its error bodies
  // (see provider_dialect.hpp). Default: Dialect::openai, the strictest common case; Dialect::any takes everything.
  void set_dialect(Dialect dialect);
  // Plays a provider's prompt cache (see prompt_cache.hpp): prompt tokens then
  // count the schema too, and usage reports what was read from the cache as
  // OpenAI does (prompt_tokens_details.cached_tokens) or Anthropic does
  // (cache_read_input_tokens, cache_creation_input_tokens), with usage.cost
  // at its discounts. Default: CacheRules::none.
  void set_cache_rules(CacheRules rules);
  // Whether usage carries OpenRouter's "cost" (default) or, like OpenAI, none.
  void set_report_cost(bool report);
  // Models listed by GET /v1/models (default: {"test-model"}); a request for
  // another model gets 404 model_not_found.
  void set_models(std::vector<std::string> models);
  // The key requests must carry as "Authorization: Bearer <key>" (empty: none needed).
  void require_key(std::string key);
  // Whether GET /v1/models also wants the key (default), or, like OpenRouter's, answers anyone.
  void set_models_need_key(bool need);

  // Every chat request body received, in order of arrival.
  std::vector<nlohmann::json> requests() const;
  // The same bodies byte for byte, as sent (member order and all), including unparsable ones.
  std::vector<std::string> raw_requests() const;
  // The headers of the last request (lowercase names).
  std::vector<std::pair<std::string, std::string>> last_headers() const;
  int request_count() const;
  // The usage object of every answer the server made (null where it reported
  // none), in the order the answers were made.
  std::vector<nlohmann::json> usages() const;
  // The client's TCP port of every chat request, in order of arrival; equal
  // ports mean a reused connection.
  std::vector<int> client_ports() const;
  // The most chat requests the server was answering at the same moment.
  int max_in_flight() const;

  // Plays a provider account's rate limits (provider_limits.hpp), shared by
  // every connection; default: none. Requests over them get 429.
  void set_provider_limits(ProviderLimitSettings settings);
  // Chat requests refused for the limits so far.
  int rate_limited_count() const;
  // The requests the limits took: when, and the tokens charged (empty without limits).
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::int64_t>> provider_admissions() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// The usage object the server reports for a request's messages and an answer.
nlohmann::json fake_usage(const nlohmann::json& messages, const std::string& answer);

// The deterministic JSON document the server answers for `schema`, with
// variation taken from `seed`; exposed so tests can predict answers. Free
// text is made of plausible words; when the schema suggests names (an anyOf
// of an enumeration and a free string, as stage 5 offers the brand's
// product lines and customers), about half of the words come from those
// names, so two brands' cards differ in their words as a real model's would.
// An enumeration of which `hint` names exactly one value (as a whole word)
// takes that value: the server passes the request part of a prompt (see
// request_hint), so that "write the convenience card on M2" is followed; and
// a member that may be null is null when the hint says "set `name` to null".
// A "$ref" to the root's "$defs" is followed.
nlohmann::json generate_from_schema(const nlohmann::json& schema, std::uint64_t seed, std::string_view hint = {});

// The short request part of a chat request: the last of two or more user
// messages, without its data blocks (<plan> ... </plan>), when that is under
// 1,000 characters (an instruction, not data); empty otherwise. A message
// that corrects the answer before it (the client's re-ask, stage 5's request
// to write a repeating card again) is passed over: the task is the one it corrects.
std::string request_hint(const nlohmann::json& messages);

}  // namespace pipeline::testing

#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "lib/llm/chat.hpp"
#include "lib/llm/model_parameters.hpp"
#include "lib/llm/provider_profile.hpp"

namespace pipeline::llm {
class SpendGuard;   // lib/llm/spend_guard.hpp
class RateLimiter;  // lib/llm/rate_limiter.hpp
}

namespace pipeline::llm {

inline constexpr const char* k_default_base_url = "https://openrouter.ai/api/v1";
inline constexpr const char* k_default_model = "openai/gpt-4o-mini";

// Price per million tokens, for providers that do not return usage.cost.
struct Price {
  Price() = default;
  Price(double prompt, double completion, std::optional<double> cache_read = std::nullopt,
        std::optional<double> cache_write = std::nullopt)
      : prompt_per_million(prompt), completion_per_million(completion), cache_read_per_million(cache_read),
        cache_write_per_million(cache_write) {}

  double prompt_per_million = 0;
  double completion_per_million = 0;
  // Prompt tokens read from the provider's cache, and written to it; unset:
  // they cost what other prompt tokens cost.
  std::optional<double> cache_read_per_million;
  std::optional<double> cache_write_per_million;
};

// Keys at least this long are masked even inside longer words.
inline constexpr std::size_t k_min_key_masked_inside_words = 8;

struct ApiKey {
  std::string value;   // never written anywhere
  std::string source;  // the environment variable it came from, or empty
  // The key shortened for display, e.g. "sk-or-...7f2c".
  std::string masked() const;
  // `text` with the key replaced by its masked form wherever it stands alone
  // (between characters that cannot be part of a key), and, for a key of
  // k_min_key_masked_inside_words characters or more, inside words too; for
  // any text that quotes what a provider or library said.
  std::string redact(std::string text) const;
};

// The key from PIPELINE_API_KEY, else OPENROUTER_API_KEY, else OPENAI_API_KEY.
ApiKey api_key_from_environment();

struct ClientConfig {
  std::string base_url = k_default_base_url;
  std::string model = k_default_model;
  ApiKey api_key;
  double connect_timeout_s = 15;
  double request_timeout_s = 300;       // total per attempt
  double first_token_timeout_s = 600;   // from the start to the first content or reasoning event
  double idle_timeout_s = 60;           // between content or reasoning events, once the first has come
  int max_retries = 4;
  int max_invalid_reasks = 2;
  int max_concurrency = 8;
  int requests_per_minute = 0;  // --rpm: request starts per minute (0: no limit)
  std::int64_t tokens_per_minute = 0;  // --tpm: tokens (prompt + max_tokens) per minute (0: no limit)
  // Holds --rpm and --tpm and what the provider's x-ratelimit-* headers say,
  // per provider host, model and key: shared by every client of the process,
  // and with a Redis store by every process (queue::RedisRateLimiter). Null:
  // the client keeps a LocalRateLimiter of its own.
  std::shared_ptr<RateLimiter> rate_limiter;
  // Where this client's requests wait for their turn: the job's priority
  // (llm::k_rate_priority_high, _normal, _low).
  int rate_priority = 1;
  // --max-cost: consulted before every HTTP attempt; shared by a batch's runs. Null: no cap.
  std::shared_ptr<SpendGuard> spend_guard;
  bool stream = true;
  // --structured-output: the one rung to use, or nullopt ("auto") for the
  // fallback ladder from the profile's first rung.
  std::optional<StructuredRung> forced_rung;
  // Rungs that answered in earlier invocations of the run, by model.
  std::map<std::string, StructuredRung> learned_rungs;
  std::string schema_dialect = "auto";  // --schema-dialect: a name of dialect_names()
  // --reasoning-effort: none, minimal, low, medium or high, for requests that
  // name none themselves; empty: none sent.
  std::string reasoning_effort;
  // --keep-reasoning: ChatResult::reasoning keeps what the provider sent of the model's thinking.
  bool keep_reasoning = false;
  // What each model takes, known before its first request: OpenRouter's
  // models list and what an earlier invocation of the run learned. Models not
  // here are looked up in the table (table_parameters).
  std::map<std::string, ModelParameters> model_parameters;
  double max_retry_after_s = 120;
  double backoff_base_s = 1;  // first retry waits up to this, doubling after
  double backoff_max_s = 30;  // ceiling of one backoff wait
  std::map<std::string, Price> prices;  // by model
  std::string record_dir;  // save every request and its final response here
  std::string replay_dir;  // answer only from recordings; no network
  // OpenRouter's app attribution (HTTP-Referer and X-Title headers).
  // PIPELINE_APP_URL and PIPELINE_APP_TITLE name the deploying application;
  // the default URL is in the reserved .invalid domain: it names no real site.
  std::string app_url = "https://pipeline.invalid";
  std::string app_title = "pipeline";
};

// The client for `config`: HTTP over libcurl, wrapped for record or replay
// when those directories are set.
std::unique_ptr<ChatClient> make_chat_client(const ClientConfig& config);

}  // namespace pipeline::llm

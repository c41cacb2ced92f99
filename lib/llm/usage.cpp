#include "lib/llm/chat.hpp"

namespace pipeline::llm {

// Costs add up over what is known: a sum stays unknown only when no part of
// it had a cost, so a failed attempt without usage never hides a known price.
Usage& Usage::operator+=(const Usage& other) {
  prompt_tokens += other.prompt_tokens;
  completion_tokens += other.completion_tokens;
  cached_tokens += other.cached_tokens;
  cache_write_tokens += other.cache_write_tokens;
  reasoning_tokens += other.reasoning_tokens;
  unreported_calls += other.unreported_calls;
  estimated_prompt_tokens += other.estimated_prompt_tokens;
  estimated_completion_tokens += other.estimated_completion_tokens;
  if (other.cost_usd) cost_usd = cost_usd.value_or(0) + *other.cost_usd;
  return *this;
}

nlohmann::json Usage::to_json() const {
  nlohmann::json json = {{"prompt_tokens", prompt_tokens},
                         {"completion_tokens", completion_tokens},
                         {"cached_tokens", cached_tokens},
                         {"cache_write_tokens", cache_write_tokens},
                         {"reasoning_tokens", reasoning_tokens}};
  json["cost_usd"] = cost_usd ? nlohmann::json(*cost_usd) : nlohmann::json(nullptr);
  if (unreported_calls > 0) {
    if (prompt_tokens == 0 && completion_tokens == 0) {
      json["prompt_tokens"] = nullptr;
      json["completion_tokens"] = nullptr;
    }
    json["unreported_calls"] = unreported_calls;
    json["estimated_prompt_tokens"] = estimated_prompt_tokens;
    json["estimated_completion_tokens"] = estimated_completion_tokens;
  }
  return json;
}

Usage Usage::from_json(const nlohmann::json& json) {
  Usage usage;
  if (!json.is_object()) return usage;
  auto count = [&json](const char* key) -> std::int64_t {
    auto it = json.find(key);
    return it != json.end() && it->is_number() ? it->get<std::int64_t>() : 0;
  };
  usage.prompt_tokens = count("prompt_tokens");
  usage.completion_tokens = count("completion_tokens");
  usage.cached_tokens = count("cached_tokens");
  usage.cache_write_tokens = count("cache_write_tokens");
  usage.reasoning_tokens = count("reasoning_tokens");
  usage.unreported_calls = count("unreported_calls");
  usage.estimated_prompt_tokens = count("estimated_prompt_tokens");
  usage.estimated_completion_tokens = count("estimated_completion_tokens");
  if (auto it = json.find("cost_usd"); it != json.end() && it->is_number()) usage.cost_usd = it->get<double>();
  return usage;
}

nlohmann::json Attempt::to_json() const {
  return {{"number", number},
          {"http_status", http_status},
          {"error_class", error_class},
          {"message", message},
          {"wait_before_s", wait_before_s},
          {"duration_s", duration_s},
          {"then", then},
          {"usage", usage.to_json()}};
}

}  // namespace pipeline::llm

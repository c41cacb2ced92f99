#include "lib/llm/completion_decoder.hpp"
#include "lib/util/json_text.hpp"

namespace pipeline::llm {
namespace {

// The most bytes kept of an upstream provider's own error text.
constexpr std::size_t k_max_upstream_words = 300;

std::string string_at(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// The choice with index 0 of a `choices` array; a choice without an index
// counts as 0. Null when there is none, so a chunk for another choice adds nothing.
const nlohmann::json* first_choice(const nlohmann::json& json) {
  auto choices = json.find("choices");
  if (choices == json.end() || !choices->is_array()) return nullptr;
  for (const auto& choice : *choices) {
    if (!choice.is_object()) continue;
    auto index = choice.find("index");
    if (index == choice.end() || index->is_null() || (index->is_number_integer() && index->get<int>() == 0))
      return &choice;
  }
  return nullptr;
}

void add_refusal(DecodedAnswer& answer, const std::string& text) {
  if (text.empty()) return;
  if (!answer.refusal) answer.refusal.emplace();
  *answer.refusal += text;
}

// The finish reason a choice gives: "length" is kept against a later
// "error", since OpenRouter reports running out of tokens both ways.
void take_finish_reason(const nlohmann::json& choice, DecodedAnswer& answer) {
  const std::string reason = string_at(choice, "finish_reason");
  if (reason.empty() || (reason == "error" && answer.finish_reason == "length")) return;
  answer.finish_reason = reason;
  if (reason == "error" && !answer.error) answer.error = "the provider ended the answer with an error";
}

// Reads the error, model, usage and finish reason shared by chunks and whole bodies.
void take_common(const nlohmann::json& json, DecodedAnswer& answer) {
  if (json.contains("error") && !json["error"].is_null()) {
    std::string message = provider_error_message(json);
    answer.error = message.empty() ? "the provider reported an error" : message;
  }
  if (auto model = string_at(json, "model"); !model.empty()) answer.model = model;
  if (auto it = json.find("usage"); it != json.end() && it->is_object()) answer.usage = *it;
}

// What an upstream provider said, from OpenRouter's metadata.raw: the message
// of the error object it holds (as JSON text or as an object), else the text itself.
std::string upstream_words(const nlohmann::json& raw) {
  if (raw.is_string()) {
    auto parsed = util::parse_json_or_discarded(raw.get<std::string>());
    if (!parsed.is_discarded() && parsed.is_object())
      if (std::string said = provider_error_message(parsed); !said.empty()) return said;
    return raw.get<std::string>();
  }
  if (raw.is_object())
    if (std::string said = provider_error_message(raw); !said.empty()) return said;
  return raw.is_null() ? "" : util::dump_json(raw);
}

}  // namespace

std::string one_line(std::string_view text, std::size_t max_bytes) {
  std::string line;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\r' || c == '\t';
    if (!space) line.push_back(c);
    else if (!line.empty() && line.back() != ' ') line.push_back(' ');
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  if (line.size() <= max_bytes) return line;
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
  return line.substr(0, cut) + "...";
}

std::string provider_error_message(const nlohmann::json& json) {
  if (json.is_string()) return json.get<std::string>();
  if (!json.is_object()) return "";
  if (auto it = json.find("error"); it != json.end() && !it->is_null()) return provider_error_message(*it);
  std::string message = string_at(json, "message");
  if (auto code = json.find("code"); code != json.end() && !code->is_null() && !message.empty()) {
    message += " (code " + (code->is_string() ? code->get<std::string>() : code->dump()) + ")";
  }
  if (auto metadata = json.find("metadata"); metadata != json.end() && metadata->is_object()) {
    const std::string provider = string_at(*metadata, "provider_name");
    const std::string said = one_line(upstream_words(metadata->value("raw", nlohmann::json())), k_max_upstream_words);
    if (!provider.empty() || !said.empty()) {
      const std::string upstream = provider.empty() ? said : said.empty() ? provider : provider + ": " + said;
      message += message.empty() ? upstream : " [" + upstream + "]";
    }
  }
  return message;
}

int provider_error_status(const nlohmann::json& json) {
  if (!json.is_object()) return 0;
  if (auto it = json.find("error"); it != json.end() && it->is_object()) return provider_error_status(*it);
  auto code = json.find("code");
  if (code == json.end() || !code->is_number_integer()) return 0;
  const auto status = code->get<std::int64_t>();
  return status >= 100 && status <= 599 ? static_cast<int>(status) : 0;
}

int StreamDecoder::feed(std::string_view bytes) {
  int progress_events = 0;
  for (const auto& event : m_parser.feed(bytes))
    if (take(event)) ++progress_events;
  return progress_events;
}

void StreamDecoder::finish() {
  for (const auto& event : m_parser.finish()) take(event);
}

bool StreamDecoder::take(const SseEvent& event) {
  if (event.is_done()) {
    m_answer.done = true;
    return true;
  }
  auto json = util::parse_json_or_discarded(event.data);
  if (event.event == "error" && (json.is_discarded() || !json.is_object())) {
    // An error event in plain words is still an error, not a malformed answer.
    const std::string said = one_line(event.data, k_max_upstream_words);
    m_answer.error = said.empty() ? "the provider reported an error" : said;
    return true;
  }
  if (json.is_discarded() || !json.is_object()) {
    m_answer.malformed = true;
    return true;
  }
  if (event.event == "error" && !json.contains("error")) json = {{"error", json}};
  const bool had_error = m_answer.error.has_value();
  const bool had_usage = !m_answer.usage.is_null();
  take_common(json, m_answer);
  bool progress = m_answer.error.has_value() != had_error || m_answer.usage.is_null() != !had_usage;
  const nlohmann::json* choice = first_choice(json);
  if (choice == nullptr) return progress;
  if (auto delta = choice->find("delta"); delta != choice->end() && delta->is_object()) {
    const std::string content = string_at(*delta, "content");
    const std::string refusal = string_at(*delta, "refusal");
    // OpenRouter and DeepSeek say "reasoning", vLLM and llama.cpp "reasoning_content".
    const std::string reasoning = string_at(*delta, "reasoning") + string_at(*delta, "reasoning_content");
    m_answer.content += content;
    m_answer.reasoning += reasoning;
    add_refusal(m_answer, refusal);
    const auto chars = content.size() + refusal.size() + reasoning.size();
    m_streamed_chars += static_cast<std::int64_t>(chars);
    if (chars > 0) progress = true;
  }
  if (!string_at(*choice, "finish_reason").empty()) progress = true;
  take_finish_reason(*choice, m_answer);
  return progress;
}

DecodedAnswer decode_completion_body(std::string_view body) {
  DecodedAnswer answer;
  auto json = util::parse_json_or_discarded(body);
  if (json.is_discarded() || !json.is_object()) {
    answer.malformed = true;
    return answer;
  }
  take_common(json, answer);
  const nlohmann::json* choice = first_choice(json);
  if (choice == nullptr) {
    if (!answer.error) answer.malformed = true;
    return answer;
  }
  if (auto message = choice->find("message"); message != choice->end()) {
    answer.content = string_at(*message, "content");
    answer.reasoning = string_at(*message, "reasoning") + string_at(*message, "reasoning_content");
    add_refusal(answer, string_at(*message, "refusal"));
  }
  take_finish_reason(*choice, answer);
  answer.done = true;
  return answer;
}

}  // namespace pipeline::llm

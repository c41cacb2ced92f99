#include "lib/llm/completion_decoder.hpp"

namespace pipeline::llm {
namespace {

std::string string_at(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
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

}  // namespace

std::string provider_error_message(const nlohmann::json& json) {
  if (json.is_string()) return json.get<std::string>();
  if (!json.is_object()) return "";
  if (auto it = json.find("error"); it != json.end() && !it->is_null()) return provider_error_message(*it);
  std::string message = string_at(json, "message");
  if (auto code = json.find("code"); code != json.end() && !code->is_null() && !message.empty()) {
    message += " (code " + (code->is_string() ? code->get<std::string>() : code->dump()) + ")";
  }
  return message;
}

int StreamDecoder::feed(std::string_view bytes) {
  int data_events = 0;
  for (const auto& event : m_parser.feed(bytes)) {
    take(event);
    ++data_events;
  }
  return data_events;
}

void StreamDecoder::finish() {
  for (const auto& event : m_parser.finish()) take(event);
}

void StreamDecoder::take(const SseEvent& event) {
  if (event.is_done()) {
    m_answer.done = true;
    return;
  }
  auto json = nlohmann::json::parse(event.data, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    m_answer.malformed = true;
    return;
  }
  if (event.event == "error" && !json.contains("error")) json = {{"error", json}};
  take_common(json, m_answer);
  auto choices = json.find("choices");
  if (choices == json.end() || !choices->is_array() || choices->empty()) return;
  const auto& choice = choices->front();
  if (auto delta = choice.find("delta"); delta != choice.end() && delta->is_object()) {
    const std::string content = string_at(*delta, "content");
    m_answer.content += content;
    m_streamed_chars += static_cast<std::int64_t>(content.size() + string_at(*delta, "reasoning").size() +
                                                  string_at(*delta, "reasoning_content").size());
  }
  if (auto reason = string_at(choice, "finish_reason"); !reason.empty()) {
    m_answer.finish_reason = reason;
    if (reason == "error" && !m_answer.error) m_answer.error = "the provider ended the answer with an error";
  }
}

DecodedAnswer decode_completion_body(std::string_view body) {
  DecodedAnswer answer;
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    answer.malformed = true;
    return answer;
  }
  take_common(json, answer);
  auto choices = json.find("choices");
  if (choices == json.end() || !choices->is_array() || choices->empty()) {
    if (!answer.error) answer.malformed = true;
    return answer;
  }
  const auto& choice = choices->front();
  if (auto message = choice.find("message"); message != choice.end())
    answer.content = string_at(*message, "content");
  answer.finish_reason = string_at(choice, "finish_reason");
  if (answer.finish_reason == "error" && !answer.error) answer.error = "the provider ended the answer with an error";
  answer.done = true;
  return answer;
}

}  // namespace pipeline::llm

#include "lib/llm/recording_client.hpp"

#include <system_error>

#include "lib/llm/request_fingerprint.hpp"
#include "lib/util/file_io.hpp"
#include "lib/util/json_text.hpp"

namespace pipeline::llm {
namespace {

// The request with an empty model read as the client's default model.
ChatRequest with_model(const ChatRequest& request, const std::string& default_model) {
  ChatRequest resolved = request;
  if (resolved.model.empty()) resolved.model = default_model;
  return resolved;
}

using util::ErrorKind;

nlohmann::json result_to_json(const ChatResult& result) {
  nlohmann::json attempts = nlohmann::json::array();
  for (const auto& attempt : result.attempts) attempts.push_back(attempt.to_json());
  return {{"content", result.content},   {"json", result.json},           {"finish_reason", result.finish_reason},
          {"model", result.model},       {"usage", result.usage.to_json()}, {"attempts", attempts}};
}

std::filesystem::path recording_path(const std::filesystem::path& dir, const std::string& hash) {
  return dir / (hash + ".json");
}

}  // namespace

std::string request_hash(const ChatRequest& request, const std::string& default_model) {
  return request_fingerprint(with_model(request, default_model));
}

RecordingChatClient::RecordingChatClient(std::unique_ptr<ChatClient> inner, std::filesystem::path dir,
                                         std::string default_model)
    : m_inner(std::move(inner)), m_dir(std::move(dir)), m_default_model(std::move(default_model)) {}

util::Expected<ChatResult> RecordingChatClient::complete(const ChatRequest& request, const util::CancelToken& cancel,
                                                         const CallObserver& observer) {
  auto result = m_inner->complete(request, cancel, observer);
  if (!result) return result;
  std::error_code error;
  std::filesystem::create_directories(m_dir, error);
  const std::string hash = request_hash(request, m_default_model);
  const nlohmann::json recording = {{"request", canonical_request(with_model(request, m_default_model))},
                                    {"result", result_to_json(*result)}};
  const std::string text = recording.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (auto written = util::write_file_atomic(recording_path(m_dir, hash), text); !written) {
    return util::fail(ErrorKind::failed, "could not save the recording in " + m_dir.string() + ": " +
                                             written.error().message);
  }
  return result;
}

ReplayChatClient::ReplayChatClient(std::filesystem::path dir, std::string default_model)
    : m_dir(std::move(dir)), m_default_model(std::move(default_model)) {}

util::Expected<ChatResult> ReplayChatClient::complete(const ChatRequest& request, const util::CancelToken& cancel,
                                                      const CallObserver& observer) {
  if (cancel.stop_requested()) return util::fail(ErrorKind::interrupted, "the model request was interrupted", "interrupted");
  const std::string hash = request_hash(request, m_default_model);
  const auto path = recording_path(m_dir, hash);
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    return util::fail(ErrorKind::bad_input,
                      "no recording for this request (" + hash + ") in " + m_dir.string(), "no_recording");
  }
  auto text = util::read_file(path);
  if (!text) return text.error();
  auto json = util::parse_json_or_discarded(*text);
  if (json.is_discarded() || !json.contains("result") || !json["result"].is_object()) {
    return util::fail(ErrorKind::bad_input, "the recording " + path.string() + " is not valid JSON", "bad_recording");
  }
  const auto& recorded = json["result"];
  ChatResult result;
  result.content = recorded.value("content", "");
  result.json = recorded.value("json", nlohmann::json());
  result.finish_reason = recorded.value("finish_reason", "");
  result.model = recorded.value("model", "");
  result.usage = Usage::from_json(recorded.value("usage", nlohmann::json::object()));
  result.usage.cost_usd = 0.0;
  Attempt attempt;
  attempt.number = 1;
  attempt.http_status = 200;
  attempt.message = "replayed from " + path.string();
  attempt.usage = result.usage;
  result.attempts.push_back(attempt);
  if (observer.on_attempt) observer.on_attempt(attempt);
  return result;
}

}  // namespace pipeline::llm

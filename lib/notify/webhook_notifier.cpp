#include "lib/notify/webhook_notifier.hpp"
#include "lib/util/json_text.hpp"

namespace pipeline::notify {

bool is_notified_event(std::string_view event) {
  return event == "stage_done" || event == "stage_failed" || event == "run_finished";
}

WebhookNotifier::WebhookNotifier(WebhookSender& sender) : m_sender(sender) {}

void WebhookNotifier::watch(const std::string& run_id, const std::string& url) {
  std::lock_guard lock(m_mutex);
  if (url.empty()) m_urls.erase(run_id);
  else m_urls[run_id] = url;
}

void WebhookNotifier::operator()(const nlohmann::json& event) {
  if (!event.is_object()) return;
  const auto name = event.find("event");
  const auto run = event.find("run_id");
  if (name == event.end() || !name->is_string() || !is_notified_event(name->get<std::string>())) return;
  if (run == event.end() || !run->is_string()) return;
  WebhookDelivery delivery;
  delivery.run_id = run->get<std::string>();
  {
    std::lock_guard lock(m_mutex);
    auto url = m_urls.find(delivery.run_id);
    if (url == m_urls.end()) return;
    delivery.url = url->second;
  }
  delivery.event = name->get<std::string>();
  if (auto stage = event.find("stage"); stage != event.end() && stage->is_number_integer()) delivery.stage = stage->get<int>();
  // The same serialisation as the event log's line, so the body is that line.
  delivery.body = util::dump_json(event);
  m_sender.enqueue(std::move(delivery));
}

}  // namespace pipeline::notify

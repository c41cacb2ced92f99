#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lib/notify/webhook_sender.hpp"

namespace pipeline::notify {

// Where a run's settings keep the URL its events are posted to (--notify).
inline constexpr const char* k_notify_url_setting = "notify_url";

// Whether an event of this name is posted: stage_done, stage_failed, run_finished.
bool is_notified_event(std::string_view event);

// Watches the events of runs and hands those that are posted to a sender:
// an observer for the chain's event sink.
class WebhookNotifier {
 public:
  explicit WebhookNotifier(WebhookSender& sender);

  // From now on the posted events of `run_id` go to `url`; an empty URL stops that.
  void watch(const std::string& run_id, const std::string& url);

  // Queues the event, as the exact JSON line of the run's event log, when
  // its run is watched and it is posted; returns at once. Thread-safe.
  void operator()(const nlohmann::json& event);

 private:
  WebhookSender& m_sender;
  std::mutex m_mutex;
  std::map<std::string, std::string> m_urls;
};

}  // namespace pipeline::notify

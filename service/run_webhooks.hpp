#pragma once

// The webhooks of a run: the URL its settings keep (README "Webhooks"), to
// which its stage_done, stage_failed and run_finished events are posted,
// signed with PIPELINE_WEBHOOK_SECRET.

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "checkpoints/run_store.hpp"
#include "lib/notify/webhook_notifier.hpp"
#include "lib/notify/webhook_sender.hpp"
#include "stages/chain.hpp"

namespace pipeline::service {

// The environment variable that holds the secret every webhook is signed with.
inline constexpr const char* k_webhook_secret_variable = "PIPELINE_WEBHOOK_SECRET";

// The secret from the environment, empty when unset.
std::string webhook_secret();

// Throws FatalError (bad input) when the secret is in the Standard Webhooks
// form ("whsec_" and base64) but its base64 does not decode, so that no run
// starts with webhooks their receivers could never verify.
void check_webhook_secret_form();

// Throws FatalError (bad input) unless `url` may be posted to by this process:
// an http(s) URL without user name or password whose host is not private
// (unless `allow_private`).
void check_webhook_url(const std::string& url, bool allow_private);

// Records a URL given now in a run's settings: set or replaced, or removed
// by ''; nullopt (none given) leaves them as they are.
void apply_notify(const std::optional<std::string>& url, nlohmann::json& settings);

// The URL a run's settings name, empty when none.
std::string notify_url(const nlohmann::json& settings);

// The webhooks of one invocation: a sender, started with the first run that
// notifies, whose deliveries are recorded in each run's event log, and the
// event sink that hands them the runs' events. The destructor waits at most
// the sender's finish budget (2 s) for the last deliveries, so a caller that
// holds its runs' locks keeps them until then.
class RunWebhooks {
 public:
  RunWebhooks(checkpoints::RunStore& store, bool allow_private_urls);
  ~RunWebhooks();
  RunWebhooks(const RunWebhooks&) = delete;
  RunWebhooks& operator=(const RunWebhooks&) = delete;

  // Refuses, before any work, a run whose stored URL cannot be notified by
  // this process: no secret, or a private address without `allow_private_urls`.
  // Throws FatalError (bad input).
  static void check_run(const checkpoints::RunState& state, bool allow_private_urls);

  // Posts the run's events from now on when its settings name a URL. Thread-safe.
  void watch(const checkpoints::RunState& state);

  // An event sink that passes every event to `next`, then to the webhooks.
  stages::EventSink sink(stages::EventSink next);

 private:
  checkpoints::RunStore& m_store;
  bool m_allow_private_urls;
  std::mutex m_mutex;
  std::unique_ptr<notify::WebhookSender> m_sender;
  std::unique_ptr<notify::WebhookNotifier> m_notifier;
};

}  // namespace pipeline::service

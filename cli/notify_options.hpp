#pragma once

// --notify: the URL that a run's stage_done, stage_failed and run_finished
// events are posted to, signed with PIPELINE_WEBHOOK_SECRET (README
// "Webhooks"). The URL is kept in the run's settings, so that every command
// that later works on the run (resume, the stage commands, a batch's resume)
// notifies it too.

#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "checkpoints/run_store.hpp"
#include "cli/app.hpp"
#include "lib/notify/webhook_notifier.hpp"
#include "lib/notify/webhook_sender.hpp"
#include "stages/chain.hpp"

namespace pipeline::cli {

// --notify as a command was given it.
struct NotifyOption {
  std::string url;
  CLI::Option* option = nullptr;
  bool given() const { return option != nullptr && option->count() > 0; }
};

// Adds --notify URL to a command that makes runs (run, new, batch, submit)
// or, with `replaces`, that goes on with stored ones (resume: a new URL
// replaces the stored one, '' stops the webhooks).
void register_notify_option(CLI::App* command, NotifyOption& notify, bool replaces = false);

// Checks a given --notify before any work: an http(s) URL without user name
// or password whose host is not private (unless --allow-private-urls).
// With `delivers` (the command posts events itself) PIPELINE_WEBHOOK_SECRET
// must be set too. Throws FatalError (bad input, exit 3).
void check_notify_option(const GlobalOptions& options, const NotifyOption& notify, bool delivers);

// Records a given --notify in a run's settings: set or replaced, or removed by ''.
void apply_notify_option(const NotifyOption& notify, nlohmann::json& settings);

// The URL a run's settings name, empty when none.
std::string notify_url(const nlohmann::json& settings);

// The webhooks of one command: a sender, started with the first run that
// notifies, whose deliveries are recorded in each run's event log, and the
// event sink that hands them the runs' events. The destructor waits at most
// the sender's finish budget (2 s) for the last deliveries, so a command that
// holds its runs' locks keeps them until then.
class RunWebhooks {
 public:
  RunWebhooks(const GlobalOptions& options, checkpoints::RunStore& store);
  ~RunWebhooks();
  RunWebhooks(const RunWebhooks&) = delete;
  RunWebhooks& operator=(const RunWebhooks&) = delete;

  // Refuses, before any work, a run whose stored URL cannot be notified by
  // this command: no secret, or a private address without --allow-private-urls.
  // Throws FatalError (bad input).
  static void check_run(const GlobalOptions& options, const checkpoints::RunState& state);

  // Posts the run's events from now on when its settings name a URL. Thread-safe.
  void watch(const checkpoints::RunState& state);

  // An event sink that passes every event to `next`, then to the webhooks.
  stages::EventSink sink(stages::EventSink next);

 private:
  const GlobalOptions& m_options;
  checkpoints::RunStore& m_store;
  std::mutex m_mutex;
  std::unique_ptr<notify::WebhookSender> m_sender;
  std::unique_ptr<notify::WebhookNotifier> m_notifier;
};

}  // namespace pipeline::cli

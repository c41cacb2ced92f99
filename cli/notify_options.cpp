#include "cli/notify_options.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "lib/notify/webhook_url.hpp"
#include "lib/util/error.hpp"
#include "lib/util/json_text.hpp"

namespace pipeline::cli {
namespace {

using util::ErrorKind;
using util::FatalError;

constexpr const char* k_secret_variable = "PIPELINE_WEBHOOK_SECRET";

std::string webhook_secret() {
  const char* secret = std::getenv(k_secret_variable);
  return secret ? secret : "";
}

// Throws FatalError unless `url` may be posted to by this process.
void check_webhook_url(const GlobalOptions& options, const std::string& url) {
  auto parsed = notify::parse_webhook_url(url);
  if (!parsed) throw FatalError(ErrorKind::bad_input, "--notify: " + parsed.error().message);
  notify::check_webhook_address(*parsed, options.allow_private_urls).value_or_throw();
}

}  // namespace

void register_notify_option(CLI::App* command, NotifyOption& notify, bool replaces) {
  const std::string help =
      replaces ? "Post the run's stage_done, stage_failed and run_finished events to this http(s) URL from now on, "
                 "instead of the URL it keeps; '' stops them"
               : "Post the run's stage_done, stage_failed and run_finished events to this http(s) URL, signed with "
                 "PIPELINE_WEBHOOK_SECRET; kept in the run for resume";
  notify.option = command->add_option("--notify", notify.url, help);
}

void check_notify_option(const GlobalOptions& options, const NotifyOption& notify, bool delivers) {
  if (!notify.given() || notify.url.empty()) return;
  check_webhook_url(options, notify.url);
  if (delivers && webhook_secret().empty()) {
    throw FatalError(ErrorKind::bad_input, fmt::format("--notify needs {} in the environment: every webhook is signed "
                                                       "with it, and its receiver checks the signature",
                                                       k_secret_variable));
  }
}

void apply_notify_option(const NotifyOption& notify, nlohmann::json& settings) {
  if (!notify.given()) return;
  if (notify.url.empty()) settings.erase(notify::k_notify_url_setting);
  else settings[notify::k_notify_url_setting] = notify.url;
}

std::string notify_url(const nlohmann::json& settings) {
  auto url = settings.find(notify::k_notify_url_setting);
  return url != settings.end() && url->is_string() ? url->get<std::string>() : std::string();
}

RunWebhooks::RunWebhooks(const GlobalOptions& options, checkpoints::RunStore& store)
    : m_options(options), m_store(store) {}

RunWebhooks::~RunWebhooks() {
  if (m_sender) m_sender->finish();
}

void RunWebhooks::check_run(const GlobalOptions& options, const checkpoints::RunState& state) {
  const std::string url = notify_url(state.settings);
  if (url.empty()) return;
  const std::string shown = notify::redacted_url(url);
  if (webhook_secret().empty()) {
    throw FatalError(ErrorKind::bad_input,
                     fmt::format("run {} posts its events to {} (--notify), which needs {} in the environment to "
                                 "sign them; set it, or stop its webhooks with `pipeline resume {} --notify ''`",
                                 state.run_id, shown, k_secret_variable, state.run_id));
  }
  try {
    check_webhook_url(options, url);
  } catch (const FatalError& error) {
    throw FatalError(error.kind(), fmt::format("run {}: {}; or stop its webhooks with `pipeline resume {} --notify ''`",
                                               state.run_id, error.what(), state.run_id));
  }
}

void RunWebhooks::watch(const checkpoints::RunState& state) {
  const std::string url = notify_url(state.settings);
  std::lock_guard lock(m_mutex);
  if (url.empty()) {
    if (m_notifier) m_notifier->watch(state.run_id, "");
    return;
  }
  if (!m_sender) {
    notify::WebhookSenderOptions options;
    options.secret = webhook_secret();
    options.allow_private_urls = m_options.allow_private_urls;
    // The log of a run keeps its deliveries; a full disk must not stop the run.
    m_sender = std::make_unique<notify::WebhookSender>(
        options, [&store = m_store](const std::string& run_id, const nlohmann::json& event) {
          (void)store.append_event(run_id, util::dump_json(event));
        });
    m_notifier = std::make_unique<notify::WebhookNotifier>(*m_sender);
  }
  m_notifier->watch(state.run_id, url);
}

stages::EventSink RunWebhooks::sink(stages::EventSink next) {
  return [this, next = std::move(next)](const nlohmann::json& event) {
    if (next) next(event);
    std::lock_guard lock(m_mutex);
    if (m_notifier) (*m_notifier)(event);
  };
}

}  // namespace pipeline::cli

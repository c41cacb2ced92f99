#include "service/run_webhooks.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "lib/notify/webhook_signature.hpp"
#include "lib/notify/webhook_url.hpp"
#include "lib/util/error.hpp"
#include "lib/util/json_text.hpp"

namespace pipeline::service {

using util::ErrorKind;
using util::FatalError;

std::string webhook_secret() {
  const char* secret = std::getenv(k_webhook_secret_variable);
  return secret ? secret : "";
}

void check_webhook_secret_form() {
  auto key = notify::standard_webhook_key(webhook_secret());
  if (!key) {
    throw FatalError(ErrorKind::bad_input, fmt::format("{}: {}", k_webhook_secret_variable, key.error().message));
  }
}

void check_webhook_url(const std::string& url, bool allow_private) {
  auto parsed = notify::parse_webhook_url(url);
  if (!parsed) throw FatalError(ErrorKind::bad_input, "--notify: " + parsed.error().message);
  notify::check_webhook_address(*parsed, allow_private).value_or_throw();
}

void apply_notify(const std::optional<std::string>& url, nlohmann::json& settings) {
  if (!url) return;
  if (url->empty()) settings.erase(notify::k_notify_url_setting);
  else settings[notify::k_notify_url_setting] = *url;
}

std::string notify_url(const nlohmann::json& settings) {
  auto url = settings.find(notify::k_notify_url_setting);
  return url != settings.end() && url->is_string() ? url->get<std::string>() : std::string();
}

RunWebhooks::RunWebhooks(checkpoints::RunStore& store, bool allow_private_urls)
    : m_store(store), m_allow_private_urls(allow_private_urls) {}

RunWebhooks::~RunWebhooks() {
  if (m_sender) m_sender->finish();
}

void RunWebhooks::check_run(const checkpoints::RunState& state, bool allow_private_urls) {
  const std::string url = notify_url(state.settings);
  if (url.empty()) return;
  const std::string shown = notify::redacted_url(url);
  if (webhook_secret().empty()) {
    throw FatalError(ErrorKind::bad_input,
                     fmt::format("run {} posts its events to {} (--notify), which needs {} in the environment to "
                                 "sign them; set it, or stop its webhooks with `pipeline resume {} --notify ''`",
                                 state.run_id, shown, k_webhook_secret_variable, state.run_id));
  }
  check_webhook_secret_form();
  try {
    check_webhook_url(url, allow_private_urls);
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
    options.allow_private_urls = m_allow_private_urls;
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

}  // namespace pipeline::service

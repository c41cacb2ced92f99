#include "lib/notify/webhook_sender.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "lib/net/address_guard.hpp"
#include "lib/notify/webhook_signature.hpp"
#include "lib/notify/webhook_url.hpp"
#include "lib/util/hex.hpp"
#include "lib/util/log.hpp"

namespace pipeline::notify {
namespace {

bool is_retried_status(int status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

std::string webhook_delivery_id(std::mt19937_64& generator) {
  std::string bytes;
  for (int word = 0; word < 2; ++word) {
    const std::uint64_t value = generator();
    for (int shift = 0; shift < 64; shift += 8) bytes.push_back(static_cast<char>((value >> shift) & 0xff));
  }
  return util::to_hex(bytes);
}

}  // namespace

WebhookSender::WebhookSender(WebhookSenderOptions options, DeliveryRecorder recorder)
    : m_options(std::move(options)), m_recorder(std::move(recorder)), m_ids(std::random_device{}()) {
  if (!m_options.secret.empty()) {
    auto key = standard_webhook_key(m_options.secret);
    if (key) {
      m_standard_key = std::move(*key);
    } else {
      // The commands refuse such a secret before any work; this is the last guard.
      util::log_verbose(fmt::format("webhooks go without {}: {}", k_standard_signature_header, key.error().message));
    }
  }
  m_thread = std::thread([this] { work(); });
}

WebhookSender::~WebhookSender() { finish(); }

void WebhookSender::enqueue(WebhookDelivery delivery) {
  Pending pending;
  pending.delivery = std::move(delivery);
  std::optional<std::string> refused;
  {
    std::lock_guard lock(m_mutex);
    pending.id = webhook_delivery_id(m_ids);
    pending.order = m_next_order++;
    pending.due = util::Clock::now();
    if (m_finishing) {
      refused = "the webhook sender had stopped";
    } else if (m_queue.size() >= m_options.max_queued) {
      refused = fmt::format("{} deliveries were waiting already", m_queue.size());
    } else {
      m_queue.push_back(std::move(pending));
    }
  }
  if (refused) {
    give_up(pending, *refused);
    return;
  }
  m_wake.notify_one();
}

void WebhookSender::finish() {
  {
    std::unique_lock lock(m_mutex);
    if (!m_thread.joinable()) return;
    if (!m_finishing) {
      m_finishing = true;
      m_finish_by = util::Clock::now() + std::chrono::duration_cast<util::Clock::duration>(
                                             std::chrono::duration<double>(m_options.finish_budget_s));
    }
    m_wake.notify_all();
    if (!m_idle.wait_until(lock, m_finish_by, [this] { return m_worker_done; })) {
      m_abandoning = true;
      m_abandon_token.cancel();
      m_wake.notify_all();
    }
  }
  m_thread.join();
}

void WebhookSender::work() {
  std::unique_lock lock(m_mutex);
  while (!m_abandoning) {
    if (m_queue.empty()) {
      if (m_finishing) break;
      m_wake.wait(lock);
      continue;
    }
    auto next = std::min_element(m_queue.begin(), m_queue.end(), [](const Pending& a, const Pending& b) {
      return a.due != b.due ? a.due < b.due : a.order < b.order;
    });
    if (next->due > util::Clock::now()) {
      // Nothing else can become due before the earliest; past the finish
      // budget no wait is worth it.
      if (m_finishing && next->due > m_finish_by) break;
      m_wake.wait_until(lock, m_finishing ? std::min(next->due, m_finish_by) : next->due);
      continue;
    }
    Pending pending = std::move(*next);
    m_queue.erase(next);
    lock.unlock();
    const AttemptResult result = attempt(pending);
    lock.lock();
    if (result == AttemptResult::retry) {
      const double wait = m_options.retry_delays_s.at(static_cast<std::size_t>(pending.attempts - 1));
      pending.due = util::Clock::now() +
                    std::chrono::duration_cast<util::Clock::duration>(std::chrono::duration<double>(wait));
      m_queue.push_back(std::move(pending));
    } else if (result == AttemptResult::abandoned) {
      lock.unlock();
      give_up(pending, fmt::format("the process was ending and had waited {:.1f} s for its webhooks",
                                   m_options.finish_budget_s));
      lock.lock();
    }
  }
  std::vector<Pending> left;
  left.swap(m_queue);
  lock.unlock();
  const std::string reason =
      fmt::format("the process was ending and had waited {:.1f} s for its webhooks", m_options.finish_budget_s);
  for (const auto& pending : left) give_up(pending, reason);
  lock.lock();
  m_worker_done = true;
  m_idle.notify_all();
}

WebhookSender::AttemptResult WebhookSender::attempt(Pending& pending) {
  const WebhookDelivery& delivery = pending.delivery;
  pending.attempts += 1;
  llm::HttpRequest request;
  request.method = "POST";
  request.url = delivery.url;
  request.body = delivery.body;
  request.connect_timeout_s = m_options.connect_timeout_s;
  request.total_timeout_s = m_options.total_timeout_s;
  // Standard Webhooks: the delivery id is the webhook-id, and the timestamp
  // is this attempt's, so that a retry is not refused as a replay.
  const std::int64_t timestamp = unix_seconds_now();
  request.headers = {"Content-Type: application/json",
                     std::string("User-Agent: pipeline/") + PIPELINE_VERSION + " (webhook)",
                     std::string(k_signature_header) + ": " + webhook_signature(m_options.secret, delivery.body),
                     "X-Pipeline-Event: " + delivery.event,
                     "X-Pipeline-Delivery: " + pending.id,
                     std::string(k_standard_id_header) + ": " + pending.id,
                     fmt::format("{}: {}", k_standard_timestamp_header, timestamp)};
  if (m_standard_key) {
    request.headers.push_back(std::string(k_standard_signature_header) + ": " +
                              standard_webhook_signature(*m_standard_key, pending.id, timestamp, delivery.body));
  }
  net::UrlGuardPolicy policy;
  policy.allow_private = m_options.allow_private_urls;
  net::GuardState guard;
  request.configure_handle = [&policy, &guard](void* handle) {
    net::guard_curl_handle(static_cast<CURL*>(handle), policy, guard);
  };
  const auto outcome = m_transport.perform(request, [](std::string_view, int) { return 0; }, m_abandon_token);

  const bool delivered = outcome.curl_code == 0 && outcome.status >= 200 && outcome.status < 300;
  nlohmann::json event = {{"event", delivered ? "webhook_delivered" : "webhook_failed"},
                          {"attempt", pending.attempts},
                          {"http_status", outcome.status > 0 ? nlohmann::json(outcome.status) : nlohmann::json()},
                          {"duration_s", outcome.duration_s}};
  if (delivered) {
    record(pending, std::move(event));
    return AttemptResult::delivered;
  }
  AttemptResult result = AttemptResult::final_failure;
  std::string error;
  std::string final_reason;
  if (outcome.stop == llm::HttpOutcome::Stop::cancelled) {
    error = "abandoned while in flight";
    result = AttemptResult::abandoned;
  } else if (outcome.curl_code != 0 && guard.any_refused()) {
    // The same address would be refused next time.
    error = webhook_refusal(delivery.url, guard).message;
    final_reason = "the receiver's address is not allowed";
  } else if (outcome.curl_code != 0) {
    error = outcome.curl_error;
    if (llm::CurlTransport::is_permanent_failure(outcome.curl_code)) {
      final_reason = "the error is not temporary: " + outcome.curl_error;
    } else {
      result = AttemptResult::retry;
    }
  } else if (is_retried_status(outcome.status)) {
    error = fmt::format("HTTP {}", outcome.status);
    result = AttemptResult::retry;
  } else {
    error = fmt::format("HTTP {}", outcome.status);
    final_reason = outcome.status >= 300 && outcome.status < 400
                       ? fmt::format("HTTP {} is a redirect, which webhooks do not follow", outcome.status)
                       : fmt::format("HTTP {} is not retried: the receiver refused the request", outcome.status);
  }
  if (result == AttemptResult::retry && pending.attempts >= max_attempts()) {
    result = AttemptResult::final_failure;
    final_reason = fmt::format("{} attempts failed", pending.attempts);
  }
  event["error"] = error;
  if (result == AttemptResult::retry) {
    event["retry_in_s"] = m_options.retry_delays_s.at(static_cast<std::size_t>(pending.attempts - 1));
  }
  util::log_verbose(fmt::format("webhook {} to {} failed (attempt {} of {}): {}", delivery.event,
                                redacted_url(delivery.url), pending.attempts, max_attempts(), error));
  record(pending, std::move(event));
  if (result == AttemptResult::final_failure) give_up(pending, final_reason);
  return result;
}

void WebhookSender::record(const Pending& pending, nlohmann::json event) {
  const WebhookDelivery& delivery = pending.delivery;
  event["run_id"] = delivery.run_id;
  event["time"] = util::now_iso8601();
  event["url"] = redacted_url(delivery.url);
  event["webhook_event"] = delivery.event;
  if (delivery.stage) event["stage"] = *delivery.stage;
  event["delivery_id"] = pending.id;
  if (!m_recorder) return;
  std::lock_guard lock(m_record_mutex);
  m_recorder(delivery.run_id, event);
}

void WebhookSender::give_up(const Pending& pending, const std::string& reason) {
  util::log_verbose(fmt::format("gave up the webhook {} to {}: {}", pending.delivery.event,
                                redacted_url(pending.delivery.url), reason));
  record(pending, {{"event", "webhook_gave_up"}, {"attempts", pending.attempts}, {"reason", reason}});
}

}  // namespace pipeline::notify

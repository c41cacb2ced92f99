#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/llm/curl_transport.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/time.hpp"

namespace pipeline::notify {

// One event to post to one URL.
struct WebhookDelivery {
  std::string run_id;
  std::string url;
  std::string event;         // the event it carries: stage_done, stage_failed, run_finished
  std::optional<int> stage;  // that event's stage, when it has one
  std::string body;          // the exact bytes posted, and signed
};

struct WebhookSenderOptions {
  // Signs every delivery (PIPELINE_WEBHOOK_SECRET), in both ways of
  // webhook_signature.hpp; without it webhook-signature is left out.
  std::string secret;
  // The waits before the second, third, ... attempt: four attempts in all.
  std::vector<double> retry_delays_s{0.5, 2.0, 8.0};
  double connect_timeout_s = 2;
  double total_timeout_s = 5;
  // What finish() waits at most for the deliveries queued before it.
  double finish_budget_s = 2;
  // Deliveries waiting at once; one more is given up at once.
  std::size_t max_queued = 1000;
  // --allow-private-urls: loopback and local-network receivers are allowed.
  bool allow_private_urls = false;
};

// Receives the record of every attempt and of every delivery given up, as an
// event of the delivery's run (webhook_delivered, webhook_failed,
// webhook_gave_up), one call at a time, from the sender's thread or, for a
// delivery refused by enqueue, from the caller's.
using DeliveryRecorder = std::function<void(const std::string& run_id, const nlohmann::json& event)>;

// Posts webhooks from a thread of its own, so that the run that enqueues them
// never waits for a receiver: each body is POSTed as application/json with its
// signature (X-Pipeline-Signature), the event's name (X-Pipeline-Event), a
// delivery id that stays the same across retries (X-Pipeline-Delivery, and
// again as webhook-id), the attempt's Unix time (webhook-timestamp) and the
// Standard Webhooks signature of the three (webhook-signature), and no
// Authorization header or credential of any kind. A delivery is tried
// again after connection errors, timeouts, 408, 429 and 5xx answers, with
// the waits of retry_delays_s; any other answer but 2xx ends it, as does a
// receiver at a private address unless those are allowed. Redirects are not
// followed. Deliveries go out in the order they are due, one at a time.
class WebhookSender {
 public:
  WebhookSender(WebhookSenderOptions options, DeliveryRecorder recorder);
  // finish().
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Queues a delivery and returns at once. Thread-safe.
  void enqueue(WebhookDelivery delivery);

  // Waits at most finish_budget_s for the deliveries queued so far, then
  // abandons what is left (the attempt in flight, retries not yet due),
  // recording each as given up, and stops the thread. A stop signal does not
  // cut it short: the run has been saved by then and its last events are
  // worth the bounded wait. Idempotent.
  void finish();

 private:
  struct Pending {
    WebhookDelivery delivery;
    std::string id;
    int attempts = 0;
    util::Clock::time_point due;
    std::uint64_t order = 0;
  };
  enum class AttemptResult { delivered, retry, final_failure, abandoned };

  void work();
  AttemptResult attempt(Pending& pending);
  void record(const Pending& pending, nlohmann::json event);
  void give_up(const Pending& pending, const std::string& reason);
  int max_attempts() const { return static_cast<int>(m_options.retry_delays_s.size()) + 1; }

  const WebhookSenderOptions m_options;
  const DeliveryRecorder m_recorder;
  // The Standard Webhooks key of the secret; none without a usable secret.
  std::optional<std::string> m_standard_key;
  llm::CurlTransport m_transport;
  // Ends the transfer in flight when finish() gives up.
  const util::CancelToken m_abandon_token = util::CancelToken::ignoring_signals();
  std::mutex m_record_mutex;

  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::condition_variable m_idle;
  std::vector<Pending> m_queue;
  std::uint64_t m_next_order = 0;
  std::mt19937_64 m_ids;
  bool m_finishing = false;
  bool m_abandoning = false;
  bool m_worker_done = false;
  util::Clock::time_point m_finish_by;
  std::thread m_thread;
};

}  // namespace pipeline::notify

#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "lib/notify/webhook_sender.hpp"
#include "lib/notify/webhook_signature.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/webhook_receiver.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pipeline::notify::standard_webhook_key;
using pipeline::notify::standard_webhook_signature;
using pipeline::notify::unix_seconds_now;
using pipeline::notify::verify_standard_webhook;
using pipeline::notify::verify_webhook_signature;
using pipeline::notify::WebhookDelivery;
using pipeline::notify::WebhookSender;
using pipeline::notify::WebhookSenderOptions;
using pipeline::testing::free_local_port;
using pipeline::testing::SilentListener;
using pipeline::testing::WebhookReceiver;

namespace {

constexpr const char* k_sender_test_secret = "whsec-test-5e1f0a";

// The records a sender hands to its recorder, in order.
struct SenderRecords {
  std::mutex mutex;
  std::vector<std::pair<std::string, json>> events;

  pipeline::notify::DeliveryRecorder recorder() {
    return [this](const std::string& run_id, const json& event) {
      std::lock_guard lock(mutex);
      events.emplace_back(run_id, event);
    };
  }
  std::vector<json> named(const std::string& name) {
    std::lock_guard lock(mutex);
    std::vector<json> found;
    for (const auto& [run_id, event] : events)
      if (event.at("event") == name) found.push_back(event);
    return found;
  }
};

WebhookSenderOptions fast_sender_options() {
  WebhookSenderOptions options;
  options.secret = k_sender_test_secret;
  options.retry_delays_s = {0.05, 0.1, 0.2};
  options.connect_timeout_s = 1;
  options.total_timeout_s = 2;
  options.finish_budget_s = 5;
  // The receivers of these tests are on loopback.
  options.allow_private_urls = true;
  return options;
}

WebhookDelivery stage_done_delivery(const std::string& url, int stage = 2) {
  const json event = {{"event", "stage_done"}, {"stage", stage}, {"name", "signals"}, {"run_id", "run-a"},
                      {"time", "2026-01-01T00:00:00.000Z"}};
  return {"run-a", url, "stage_done", stage, event.dump()};
}

// Checks the Standard Webhooks headers of a request against `secret`, at the
// receiver's clock.
void check_standard_headers(const std::string& secret, const WebhookReceiver::Received& request) {
  INFO(request.body);
  REQUIRE(request.headers.count("webhook-id") == 1);
  REQUIRE(request.headers.count("webhook-timestamp") == 1);
  REQUIRE(request.headers.count("webhook-signature") == 1);
  auto verified = verify_standard_webhook(secret, request.headers.at("webhook-id"),
                                          request.headers.at("webhook-timestamp"), request.body,
                                          request.headers.at("webhook-signature"));
  CHECK_MESSAGE(verified, (verified ? std::string() : verified.error().message));
}

double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

TEST_CASE("a delivery posts the exact body as JSON, signed, with the event and a delivery id, and no credentials") {
  WebhookReceiver receiver;
  SenderRecords records;
  const auto delivery = stage_done_delivery(receiver.url("/hook?token=abc123"));
  {
    WebhookSender sender(fast_sender_options(), records.recorder());
    sender.enqueue(delivery);
    REQUIRE(receiver.wait_for(1, 10s));
  }
  const auto received = receiver.received();
  REQUIRE(received.size() == 1);
  const auto& request = received.front();
  CHECK(request.path == "/hook");
  CHECK(request.body == delivery.body);
  CHECK(request.headers.at("content-type") == "application/json");
  CHECK(request.headers.at("user-agent").rfind(std::string("pipeline/") + PIPELINE_VERSION, 0) == 0);
  CHECK(request.headers.at("x-pipeline-event") == "stage_done");
  CHECK(request.headers.at("x-pipeline-delivery").size() == 32);
  CHECK(verify_webhook_signature(k_sender_test_secret, request.body, request.headers.at("x-pipeline-signature")));
  CHECK(request.headers.count("authorization") == 0);
  CHECK(request.headers.count("cookie") == 0);
  for (const auto& [name, value] : request.headers) CHECK(value.find(k_sender_test_secret) == std::string::npos);

  const auto delivered = records.named("webhook_delivered");
  REQUIRE(delivered.size() == 1);
  CHECK(records.named("webhook_failed").empty());
  const auto& record = delivered.front();
  CHECK(record.at("run_id") == "run-a");
  CHECK(record.at("webhook_event") == "stage_done");
  CHECK(record.at("stage") == 2);
  CHECK(record.at("attempt") == 1);
  CHECK(record.at("http_status") == 200);
  CHECK(record.at("duration_s").get<double>() >= 0);
  CHECK(record.at("delivery_id") == request.headers.at("x-pipeline-delivery"));
  // The query, where a receiver's token sits, is not recorded.
  CHECK(record.at("url") == receiver.url("/hook"));
  CHECK(record.dump().find("abc123") == std::string::npos);
  CHECK(record.dump().find(k_sender_test_secret) == std::string::npos);
}

TEST_CASE("5xx answers are retried after the backoff waits with the same body and id, until one succeeds") {
  WebhookReceiver receiver;
  receiver.answer_with({500, 503});
  SenderRecords records;
  {
    WebhookSender sender(fast_sender_options(), records.recorder());
    sender.enqueue(stage_done_delivery(receiver.url()));
    REQUIRE(receiver.wait_for(3, 10s));
  }
  const auto received = receiver.received();
  REQUIRE(received.size() == 3);
  for (const auto& request : received) {
    CHECK(request.body == received.front().body);
    CHECK(request.headers.at("x-pipeline-delivery") == received.front().headers.at("x-pipeline-delivery"));
    CHECK(verify_webhook_signature(k_sender_test_secret, request.body, request.headers.at("x-pipeline-signature")));
  }
  CHECK(seconds_between(received[0].at, received[1].at) >= 0.05);
  CHECK(seconds_between(received[1].at, received[2].at) >= 0.1);

  const auto failed = records.named("webhook_failed");
  REQUIRE(failed.size() == 2);
  CHECK(failed[0].at("attempt") == 1);
  CHECK(failed[0].at("http_status") == 500);
  CHECK(failed[0].at("retry_in_s") == doctest::Approx(0.05));
  CHECK(failed[1].at("attempt") == 2);
  CHECK(failed[1].at("http_status") == 503);
  const auto delivered = records.named("webhook_delivered");
  REQUIRE(delivered.size() == 1);
  CHECK(delivered[0].at("attempt") == 3);
  CHECK(records.named("webhook_gave_up").empty());
}

TEST_CASE("408 and 429 are retried; 400 and a redirect are not, and the delivery is given up at once") {
  WebhookReceiver receiver;
  SenderRecords records;
  SUBCASE("408 and 429") {
    receiver.answer_with({408, 429});
    {
      WebhookSender sender(fast_sender_options(), records.recorder());
      sender.enqueue(stage_done_delivery(receiver.url()));
      REQUIRE(receiver.wait_for(3, 10s));
    }
    CHECK(records.named("webhook_failed").size() == 2);
    CHECK(records.named("webhook_delivered").size() == 1);
  }
  SUBCASE("400") {
    receiver.answer_with({400});
    {
      WebhookSender sender(fast_sender_options(), records.recorder());
      sender.enqueue(stage_done_delivery(receiver.url()));
      REQUIRE(receiver.wait_for(1, 10s));
      // Longer than every backoff wait together: a retry would have come.
      std::this_thread::sleep_for(500ms);
    }
    CHECK(receiver.received().size() == 1);
    const auto failed = records.named("webhook_failed");
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].at("http_status") == 400);
    CHECK_FALSE(failed[0].contains("retry_in_s"));
    const auto gave_up = records.named("webhook_gave_up");
    REQUIRE(gave_up.size() == 1);
    CHECK(gave_up[0].at("attempts") == 1);
    CHECK(gave_up[0].at("reason").get<std::string>().find("400") != std::string::npos);
  }
  SUBCASE("302") {
    receiver.answer_with({302});
    {
      WebhookSender sender(fast_sender_options(), records.recorder());
      sender.enqueue(stage_done_delivery(receiver.url()));
      REQUIRE(receiver.wait_for(1, 10s));
      std::this_thread::sleep_for(500ms);
    }
    CHECK(receiver.received().size() == 1);
    REQUIRE(records.named("webhook_gave_up").size() == 1);
    CHECK(records.named("webhook_gave_up")[0].at("reason").get<std::string>().find("redirect") != std::string::npos);
  }
}

TEST_CASE("after every attempt failed the delivery is given up and that is recorded") {
  WebhookReceiver receiver;
  receiver.answer_with({500, 500, 500, 500, 500});
  SenderRecords records;
  {
    WebhookSender sender(fast_sender_options(), records.recorder());
    sender.enqueue(stage_done_delivery(receiver.url()));
    REQUIRE(receiver.wait_for(4, 10s));
    std::this_thread::sleep_for(500ms);
  }
  CHECK(receiver.received().size() == 4);
  const auto failed = records.named("webhook_failed");
  REQUIRE(failed.size() == 4);
  CHECK(failed[3].at("attempt") == 4);
  CHECK_FALSE(failed[3].contains("retry_in_s"));
  const auto gave_up = records.named("webhook_gave_up");
  REQUIRE(gave_up.size() == 1);
  CHECK(gave_up[0].at("attempts") == 4);
  CHECK(gave_up[0].at("reason") == "4 attempts failed");
  CHECK(records.named("webhook_delivered").empty());
}

TEST_CASE("a receiver that refuses connections is retried and given up, without the enqueuer waiting") {
  SenderRecords records;
  const std::string url = "http://127.0.0.1:" + std::to_string(free_local_port()) + "/hook";
  {
    WebhookSender sender(fast_sender_options(), records.recorder());
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) sender.enqueue(stage_done_delivery(url, i % 5 + 1));
    CHECK(seconds_between(start, std::chrono::steady_clock::now()) < 0.05);
  }
  CHECK(records.named("webhook_delivered").empty());
  const auto failed = records.named("webhook_failed");
  CHECK(failed.size() == 80);
  for (const auto& record : failed) {
    CHECK(record.at("http_status").is_null());
    CHECK_FALSE(record.at("error").get<std::string>().empty());
  }
  CHECK(records.named("webhook_gave_up").size() == 20);
}

TEST_CASE("a receiver that never answers slows neither the enqueuer nor the end beyond the finish budget") {
  SilentListener silent;
  SenderRecords records;
  auto options = fast_sender_options();
  options.finish_budget_s = 0.3;
  options.total_timeout_s = 30;
  const auto start = std::chrono::steady_clock::now();
  double enqueue_s = 0;
  {
    WebhookSender sender(options, records.recorder());
    for (int i = 0; i < 50; ++i) sender.enqueue(stage_done_delivery(silent.url()));
    enqueue_s = seconds_between(start, std::chrono::steady_clock::now());
    std::this_thread::sleep_for(200ms);
  }
  const double total_s = seconds_between(start, std::chrono::steady_clock::now());
  CHECK(enqueue_s < 0.05);
  // 0.2 s of work, 0.3 s of budget, and the transfer in flight ends within a tenth of a second.
  CHECK(total_s < 1.5);
  const auto gave_up = records.named("webhook_gave_up");
  REQUIRE(gave_up.size() == 50);
  for (const auto& record : gave_up) CHECK(record.at("reason").get<std::string>().find("ending") != std::string::npos);
  // The one in flight is recorded as a failed attempt too.
  CHECK(records.named("webhook_failed").size() == 1);
  CHECK(records.named("webhook_delivered").empty());
}

TEST_CASE("finish waits for deliveries due within its budget and gives up retries due after it") {
  SenderRecords records;
  auto options = fast_sender_options();
  options.retry_delays_s = {0.1, 30, 30};
  options.finish_budget_s = 1;
  const std::string url = "http://127.0.0.1:" + std::to_string(free_local_port()) + "/hook";
  const auto start = std::chrono::steady_clock::now();
  {
    WebhookSender sender(options, records.recorder());
    sender.enqueue(stage_done_delivery(url));
  }
  // Two attempts (the second 0.1 s after the first), then no wait for the one due in 30 s.
  CHECK(seconds_between(start, std::chrono::steady_clock::now()) < 0.9);
  CHECK(records.named("webhook_failed").size() == 2);
  REQUIRE(records.named("webhook_gave_up").size() == 1);
  CHECK(records.named("webhook_gave_up")[0].at("attempts") == 2);
}

TEST_CASE("a delivery beyond the queue's bound, or after finish, is given up at once") {
  SilentListener silent;
  SenderRecords records;
  auto options = fast_sender_options();
  options.max_queued = 2;
  options.finish_budget_s = 0.1;
  {
    WebhookSender sender(options, records.recorder());
    // The first is taken in flight at once or stays queued; either way at most two wait.
    for (int i = 0; i < 5; ++i) sender.enqueue(stage_done_delivery(silent.url()));
    CHECK(records.named("webhook_gave_up").size() >= 2);
    sender.finish();
    const auto before = records.named("webhook_gave_up").size();
    sender.enqueue(stage_done_delivery(silent.url()));
    CHECK(records.named("webhook_gave_up").size() == before + 1);
  }
  CHECK(records.named("webhook_gave_up").size() == 6);
}

TEST_CASE("a receiver at a private address is refused before any byte is sent, unless private addresses are allowed") {
  WebhookReceiver receiver;
  SenderRecords records;
  auto options = fast_sender_options();
  options.allow_private_urls = false;
  {
    WebhookSender sender(options, records.recorder());
    sender.enqueue(stage_done_delivery(receiver.url("/hook?token=abc")));
  }
  CHECK(receiver.received().empty());
  const auto failed = records.named("webhook_failed");
  REQUIRE(failed.size() == 1);
  const std::string error = failed[0].at("error");
  CHECK(error.rfind("refusing to post webhooks to " + receiver.url("/hook") + ": it resolves to", 0) == 0);
  CHECK(error.find("127.0.0.1 (loopback)") != std::string::npos);
  CHECK(error.find("--allow-private-urls") != std::string::npos);
  INFO(error);
  CHECK(error.find("abc") == std::string::npos);
  REQUIRE(records.named("webhook_gave_up").size() == 1);
  CHECK(records.named("webhook_gave_up")[0].at("attempts") == 1);
}

TEST_CASE("every attempt carries webhook-id, webhook-timestamp and webhook-signature as Standard Webhooks has them") {
  WebhookReceiver receiver;
  // One retry, a second and more later, so that its timestamp is another.
  receiver.answer_with({503});
  SenderRecords records;
  auto options = fast_sender_options();
  options.retry_delays_s = {1.2};
  const std::int64_t before = unix_seconds_now();
  {
    WebhookSender sender(options, records.recorder());
    sender.enqueue(stage_done_delivery(receiver.url()));
    REQUIRE(receiver.wait_for(2, 10s));
  }
  const std::int64_t after = unix_seconds_now();
  const auto received = receiver.received();
  REQUIRE(received.size() == 2);
  std::vector<std::int64_t> timestamps;
  for (const auto& request : received) {
    check_standard_headers(k_sender_test_secret, request);
    // The id is the delivery's, on every attempt; the old header stays beside it.
    CHECK(request.headers.at("webhook-id") == request.headers.at("x-pipeline-delivery"));
    CHECK(verify_webhook_signature(k_sender_test_secret, request.body, request.headers.at("x-pipeline-signature")));
    // Integer seconds of the attempt: digits only, within the test's run.
    const std::string& stamp = request.headers.at("webhook-timestamp");
    CHECK(stamp.find_first_not_of("0123456789") == std::string::npos);
    timestamps.push_back(std::stoll(stamp));
    CHECK(timestamps.back() >= before);
    CHECK(timestamps.back() <= after);
    // A secret without the whsec_ prefix is the key as raw bytes.
    CHECK(request.headers.at("webhook-signature") ==
          standard_webhook_signature(k_sender_test_secret, request.headers.at("webhook-id"), timestamps.back(),
                                     request.body));
    CHECK(request.headers.at("webhook-signature").find(' ') == std::string::npos);
  }
  CHECK(received[0].headers.at("webhook-id") == received[1].headers.at("webhook-id"));
  CHECK(received[0].headers.at("webhook-id").size() == 32);
  CHECK(received[0].headers.at("webhook-id").find('.') == std::string::npos);
  CHECK(timestamps[1] >= timestamps[0] + 1);
  CHECK(received[0].headers.at("webhook-signature") != received[1].headers.at("webhook-signature"));
  CHECK(records.named("webhook_delivered").size() == 1);
}

TEST_CASE("a whsec_ secret signs webhook-signature with its decoded key, and X-Pipeline-Signature with the secret") {
  // 24 bytes from /dev/urandom, base64.
  const std::string secret = "whsec_ZYA1LEfI9A4KkPBGlBEKysuWRWbLwtKE";
  REQUIRE(standard_webhook_key(secret));
  WebhookReceiver receiver;
  SenderRecords records;
  auto options = fast_sender_options();
  options.secret = secret;
  {
    WebhookSender sender(options, records.recorder());
    sender.enqueue(stage_done_delivery(receiver.url()));
    REQUIRE(receiver.wait_for(1, 10s));
  }
  const auto request = receiver.received().at(0);
  check_standard_headers(secret, request);
  const std::int64_t stamp = std::stoll(request.headers.at("webhook-timestamp"));
  CHECK(request.headers.at("webhook-signature") ==
        standard_webhook_signature(*standard_webhook_key(secret), request.headers.at("webhook-id"), stamp,
                                   request.body));
  // Not the secret's text as the key: that would be another signature.
  CHECK(request.headers.at("webhook-signature") !=
        standard_webhook_signature(secret, request.headers.at("webhook-id"), stamp, request.body));
  CHECK(verify_webhook_signature(secret, request.body, request.headers.at("x-pipeline-signature")));
  for (const auto& [name, value] : request.headers) CHECK(value.find("ZYA1LEfI9A4K") == std::string::npos);
}

TEST_CASE("without a secret, or with a whsec_ secret that does not decode, webhook-signature is left out") {
  for (const std::string secret : {"", "whsec_not base64"}) {
    INFO(secret);
    WebhookReceiver receiver;
    SenderRecords records;
    auto options = fast_sender_options();
    options.secret = secret;
    {
      WebhookSender sender(options, records.recorder());
      sender.enqueue(stage_done_delivery(receiver.url()));
      REQUIRE(receiver.wait_for(1, 10s));
    }
    const auto request = receiver.received().at(0);
    CHECK(request.headers.count("webhook-signature") == 0);
    CHECK(request.headers.at("webhook-id") == request.headers.at("x-pipeline-delivery"));
    CHECK(request.headers.count("webhook-timestamp") == 1);
  }
}

#include <doctest/doctest.h>

#include <chrono>

#include "lib/notify/webhook_notifier.hpp"
#include "lib/notify/webhook_signature.hpp"
#include "tests/support/webhook_receiver.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pipeline::notify::is_notified_event;
using pipeline::notify::WebhookNotifier;
using pipeline::notify::WebhookSender;
using pipeline::notify::WebhookSenderOptions;
using pipeline::testing::WebhookReceiver;

namespace {

WebhookSenderOptions notifier_test_options() {
  WebhookSenderOptions options;
  options.secret = "notifier-secret";
  options.allow_private_urls = true;
  return options;
}

}  // namespace

TEST_CASE("stage_done, stage_failed and run_finished are posted; no other event is") {
  for (const char* name : {"stage_done", "stage_failed", "run_finished"}) CHECK(is_notified_event(name));
  for (const char* name : {"run_started", "stage_started", "stage_retry", "stage_part_done", "stage_progress",
                           "stage_waiting", "batch_finished", "webhook_delivered", "webhook_failed", ""}) {
    CHECK_FALSE(is_notified_event(name));
  }
}

TEST_CASE("a watched run's posted events go to its URL as the exact event line; other runs' and events do not") {
  WebhookReceiver first;
  WebhookReceiver second;
  const json done = {{"event", "stage_done"}, {"stage", 3}, {"name", "lessons"}, {"run_id", "a"},
                     {"time", "2026-01-01T00:00:00.000Z"}, {"usage", {{"prompt_tokens", 10}}}};
  const json finished = {{"event", "run_finished"}, {"status", "completed"}, {"run_id", "b"}, {"time", "t"}};
  {
    WebhookSender sender(notifier_test_options(), {});
    WebhookNotifier notifier(sender);
    notifier.watch("a", first.url("/a"));
    notifier.watch("b", second.url("/b"));
    notifier(json{{"event", "stage_started"}, {"stage", 3}, {"run_id", "a"}});
    notifier(done);
    notifier(finished);
    // Unwatched run, no run id, not an object: nothing.
    notifier(json{{"event", "stage_done"}, {"stage", 1}, {"run_id", "c"}});
    notifier(json{{"event", "stage_done"}, {"stage", 1}});
    notifier(json::array());
    // A watch with an empty URL ends it.
    notifier.watch("b", "");
    notifier(json{{"event", "stage_failed"}, {"stage", 4}, {"run_id", "b"}});
    REQUIRE(first.wait_for(1, 10s));
    REQUIRE(second.wait_for(1, 10s));
  }
  const auto to_first = first.received();
  REQUIRE(to_first.size() == 1);
  CHECK(to_first[0].path == "/a");
  CHECK(to_first[0].body == done.dump());
  CHECK(to_first[0].headers.at("x-pipeline-event") == "stage_done");
  CHECK(pipeline::notify::verify_webhook_signature("notifier-secret", to_first[0].body,
                                                   to_first[0].headers.at("x-pipeline-signature")));
  const auto to_second = second.received();
  REQUIRE(to_second.size() == 1);
  CHECK(to_second[0].body == finished.dump());
}

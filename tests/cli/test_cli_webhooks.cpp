#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <set>
#include <thread>

#include "lib/notify/webhook_signature.hpp"
#include "tests/support/cli_env.hpp"
#include "tests/support/run_fixture.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/webhook_receiver.hpp"

using namespace pipeline::testing;
using namespace std::chrono_literals;
using nlohmann::json;
using pipeline::notify::verify_webhook_signature;

namespace {

constexpr const char* k_webhook_secret = "whsec-CLI-3b8e61d0";

// Sets the webhook secret, and leaves private addresses refused unless a test allows them.
void set_webhook_env(CliEnv& env) {
  env.options.env["PIPELINE_WEBHOOK_SECRET"] = k_webhook_secret;
  env.options.env["PIPELINE_ALLOW_PRIVATE_URLS"] = "";
}

std::vector<json> run_events(const CliEnv& env, const std::string& run_id, const std::string& name) {
  std::vector<json> found;
  for (const auto& line : split_lines(env.read(run_id, "events.ndjson"))) {
    auto event = json::parse(line);
    if (event.at("event") == name) found.push_back(std::move(event));
  }
  return found;
}

std::vector<std::string> event_names(const std::vector<WebhookReceiver::Received>& received) {
  std::vector<std::string> names;
  for (const auto& request : received) names.push_back(json::parse(request.body).at("event"));
  return names;
}

// Checks every request: signed with the secret, no credentials, no API key.
void check_signed_and_clean(const std::vector<WebhookReceiver::Received>& received) {
  for (const auto& request : received) {
    CHECK(verify_webhook_signature(k_webhook_secret, request.body, request.headers.at("x-pipeline-signature")));
    CHECK(request.headers.at("content-type") == "application/json");
    CHECK(request.headers.count("authorization") == 0);
    CHECK(request.body.find(k_secret_key) == std::string::npos);
    CHECK(request.body.find(k_webhook_secret) == std::string::npos);
    for (const auto& [name, value] : request.headers) {
      CHECK(value.find(k_secret_key) == std::string::npos);
      CHECK(value.find(k_webhook_secret) == std::string::npos);
    }
  }
}

double timed_run(const CliEnv& env, const std::vector<std::string>& args, int& exit_code) {
  const auto start = std::chrono::steady_clock::now();
  exit_code = env.run(args).exit_code;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("run --notify posts each stage_done and run_finished as its event line, signed, and records each delivery") {
  FakeLlmServer server;
  WebhookReceiver receiver;
  CliEnv env(server);
  set_webhook_env(env);
  const std::string url = receiver.url("/hook?token=t0k3n-q");
  auto result = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "hooked", "--notify", url,
                         "--allow-private-urls", "--json", "--verbose"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  // The command waited for its last deliveries before it exited.
  const auto received = receiver.received();
  const std::vector<std::string> expected = {"stage_done", "stage_done", "stage_done", "stage_done", "stage_done",
                                             "run_finished"};
  REQUIRE(event_names(received) == expected);
  check_signed_and_clean(received);

  // Each body is exactly a line of the run's event log.
  const auto log_lines = split_lines(env.read("hooked", "events.ndjson"));
  std::set<int> stages;
  for (const auto& request : received) {
    CHECK(std::find(log_lines.begin(), log_lines.end(), request.body) != log_lines.end());
    const auto body = json::parse(request.body);
    CHECK(body.at("run_id") == "hooked");
    CHECK(request.headers.at("x-pipeline-event") == body.at("event"));
    if (body.at("event") == "stage_done") stages.insert(body.at("stage").get<int>());
  }
  CHECK(stages == std::set<int>{1, 2, 3, 4, 5});
  CHECK(json::parse(received.back().body).at("status") == "completed");

  // Every delivery is in the log, with the URL but not its query.
  const auto delivered = run_events(env, "hooked", "webhook_delivered");
  REQUIRE(delivered.size() == 6);
  for (const auto& record : delivered) {
    CHECK(record.at("url") == receiver.url("/hook"));
    CHECK(record.at("http_status") == 200);
    CHECK(record.at("attempt") == 1);
    CHECK(record.at("duration_s").get<double>() >= 0);
  }
  CHECK(delivered.back().at("webhook_event") == "run_finished");
  // The webhook records are not NDJSON on stdout, which ends with run_finished.
  CHECK(json::parse(split_lines(result.out).back()).at("event") == "run_finished");

  // The run keeps the URL; status shows it without the query.
  CHECK(env.checkpoint("hooked").at("settings").at("notify_url") == url);
  auto status = env.run({"status", "hooked", "--json"});
  REQUIRE(status.exit_code == 0);
  CHECK(json::parse(status.out).at("settings").at("notify_url") == receiver.url("/hook"));
  CHECK(status.out.find("t0k3n-q") == std::string::npos);
  auto human = env.run({"status", "hooked"});
  CHECK(human.out.find("notify " + receiver.url("/hook")) != std::string::npos);
  CHECK(human.out.find("t0k3n-q") == std::string::npos);

  // Neither the key nor the webhook secret is written or printed anywhere.
  for (const auto& text : {result.out, result.err, status.out, human.out, env.all_run_files()}) {
    CHECK(text.find(k_secret_key) == std::string::npos);
    CHECK(text.find(k_webhook_secret) == std::string::npos);
  }

  // resume notifies the stored URL; --notify '' stops it and is kept.
  auto again = env.run({"resume", "hooked", "--from", "opportunities", "--allow-private-urls"});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  REQUIRE(receiver.received().size() == 8);
  CHECK(event_names(receiver.received())[6] == "stage_done");
  CHECK(event_names(receiver.received())[7] == "run_finished");
  auto quiet = env.run({"resume", "hooked", "--from", "opportunities", "--notify", ""});
  INFO(quiet.err);
  REQUIRE(quiet.exit_code == 0);
  CHECK(receiver.received().size() == 8);
  CHECK_FALSE(env.checkpoint("hooked").at("settings").contains("notify_url"));
}

TEST_CASE("a bad --notify is exit 3 with one line before any run is made or anything is posted") {
  FakeLlmServer server;
  WebhookReceiver receiver;
  CliEnv env(server);
  set_webhook_env(env);
  auto attempt = [&](const std::vector<std::string>& extra, const std::string& expected) {
    std::vector<std::string> args = {"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "refused"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto result = env.run(args);
    INFO(expected << ": " << result.err);
    CHECK(result.exit_code == 3);
    const auto lines = split_lines(result.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].rfind("pipeline: error: ", 0) == 0);
    CHECK(lines[0].find(expected) != std::string::npos);
    CHECK(lines[0].find("pa55") == std::string::npos);
    CHECK(lines[0].find(k_webhook_secret) == std::string::npos);
    CHECK_FALSE(std::filesystem::exists(env.runs_dir + "/refused"));
  };
  attempt({"--notify", "ftp://example.com/hook"}, "http");
  attempt({"--notify", "hooks.example.com/x"}, "not a valid absolute URL");
  attempt({"--notify", "https://user:pa55@example.com/hook", "--allow-private-urls"}, "Authorization");
  // Loopback without --allow-private-urls: refused, naming the address and the way out.
  attempt({"--notify", receiver.url()}, "127.0.0.1 (loopback)");
  attempt({"--notify", "http://localhost:" + std::to_string(free_local_port()) + "/hook"}, "--allow-private-urls");
  // Without the secret nothing could be signed.
  env.options.env["PIPELINE_WEBHOOK_SECRET"] = "";
  attempt({"--notify", receiver.url(), "--allow-private-urls"}, "PIPELINE_WEBHOOK_SECRET");
  CHECK(receiver.received().empty());
  CHECK(server.request_count() == 0);

  // `new` only stores the URL; the command that runs the run needs the secret.
  auto made = env.run({"new", example_pdf_path(), "--brand", env.brand_path, "--run-id", "later", "--notify",
                       receiver.url(), "--allow-private-urls"});
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  auto unsigned_resume = env.run({"resume", "later", "--allow-private-urls"});
  CHECK(unsigned_resume.exit_code == 3);
  CHECK(unsigned_resume.err.find("PIPELINE_WEBHOOK_SECRET") != std::string::npos);
  CHECK(unsigned_resume.err.find("--notify ''") != std::string::npos);
  CHECK(server.request_count() == 0);
  env.options.env["PIPELINE_WEBHOOK_SECRET"] = k_webhook_secret;
  auto private_resume = env.run({"resume", "later"});
  CHECK(private_resume.exit_code == 3);
  CHECK(private_resume.err.find("--allow-private-urls") != std::string::npos);
  CHECK(server.request_count() == 0);
  auto resumed = env.run({"resume", "later", "--allow-private-urls"});
  INFO(resumed.err);
  CHECK(resumed.exit_code == 0);
  CHECK(receiver.received().size() == 6);
}

TEST_CASE("a receiver that refuses connections or never answers does not slow the run measurably") {
  FakeLlmServer server;
  CliEnv env(server);
  set_webhook_env(env);
  // Every run asks the model, so that the runs compared do the same work.
  env.disable_cache();
  SilentListener silent;
  const std::string refused_url = "http://127.0.0.1:" + std::to_string(free_local_port()) + "/hook";
  auto args = [&](const std::string& id) {
    return std::vector<std::string>{"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", id,
                                    "--allow-private-urls"};
  };
  auto with_notify = [&](const std::string& id, const std::string& url) {
    auto list = args(id);
    list.insert(list.end(), {"--notify", url});
    return list;
  };
  int code = -1;
  const double plain_s = timed_run(env, args("plain"), code);
  REQUIRE(code == 0);
  const double refused_s = timed_run(env, with_notify("refused", refused_url), code);
  REQUIRE(code == 0);
  const double silent_s = timed_run(env, with_notify("silent", silent.url()), code);
  REQUIRE(code == 0);
  MESSAGE("wall time: " << plain_s << " s without --notify, " << refused_s << " s to a closed port, " << silent_s
                        << " s to a receiver that never answers");
  // The finish budget is 2 s; the run's own work is the same.
  CHECK(refused_s < plain_s + 3);
  CHECK(silent_s < plain_s + 3);

  for (const std::string id : {"refused", "silent"}) {
    INFO(id);
    CHECK(run_events(env, id, "webhook_delivered").empty());
    CHECK_FALSE(run_events(env, id, "webhook_failed").empty());
    // Each of the six events is given up once, and the run is completed.
    const auto gave_up = run_events(env, id, "webhook_gave_up");
    CHECK(gave_up.size() == 6);
    std::set<std::string> ids;
    for (const auto& record : gave_up) ids.insert(record.at("delivery_id"));
    CHECK(ids.size() == 6);
    CHECK(env.checkpoint(id).at("status") == "completed");
  }
}

TEST_CASE("a stage that fails posts stage_failed and run_finished with the failure") {
  FakeLlmServer server;
  WebhookReceiver receiver;
  CliEnv env(server);
  set_webhook_env(env);
  env.disable_cache();
  server.require_key("another-key");
  auto result = env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "broken", "--notify",
                         receiver.url(), "--allow-private-urls"});
  CHECK(result.exit_code == 4);
  const auto received = receiver.received();
  REQUIRE(event_names(received) == std::vector<std::string>{"stage_failed", "run_finished"});
  check_signed_and_clean(received);
  const auto failed = json::parse(received[0].body);
  CHECK(failed.at("stage") == 1);
  CHECK(failed.at("error_kind") == "provider");
  CHECK(json::parse(received[1].body).at("status") == "failed");
  CHECK(run_events(env, "broken", "webhook_delivered").size() == 2);
}

TEST_CASE("batch --notify posts the events of every run, and each run keeps the URL") {
  FakeLlmServer server;
  WebhookReceiver receiver;
  CliEnv env(server);
  set_webhook_env(env);
  const auto other_brand = write_test_brand(env.dir.path(), "other-brand", "Othermark Foods");
  auto result = env.run({"batch", example_pdf_path(), "--brand", env.brand_path, "--brand", other_brand, "--batch-id",
                         "hooks", "--notify", receiver.url("/batch"), "--allow-private-urls", "--json"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  // The deliveries of a run that finished last may still be on their way when the batch ends.
  REQUIRE(receiver.wait_for(12, 10s));
  const auto received = receiver.received();
  CHECK(received.size() == 12);
  check_signed_and_clean(received);
  std::map<std::string, int> per_run;
  for (const auto& request : received) per_run[json::parse(request.body).at("run_id")] += 1;
  REQUIRE(per_run.size() == 2);
  for (const auto& [run_id, count] : per_run) {
    CHECK(count == 6);
    CHECK(env.checkpoint(run_id).at("settings").at("notify_url") == receiver.url("/batch"));
    CHECK(run_events(env, run_id, "webhook_delivered").size() == 6);
  }
}

TEST_CASE("after SIGTERM the run is saved and its stage_failed and run_finished are still posted") {
  FakeLlmServer server;
  server.set_pace({std::chrono::milliseconds(10000), 0});
  WebhookReceiver receiver;
  CliEnv env(server);
  set_webhook_env(env);
  auto process = env.start({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", "stopped", "--notify",
                            receiver.url(), "--allow-private-urls"});
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (server.request_count() < 1 && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(10ms);
  REQUIRE(server.request_count() == 1);
  const auto sent = std::chrono::steady_clock::now();
  process.send_signal(SIGTERM);
  auto result = process.wait(10s);
  CHECK(result.exit_code == 143);
  CHECK(std::chrono::steady_clock::now() - sent < 5s);
  const auto received = receiver.received();
  REQUIRE(event_names(received) == std::vector<std::string>{"stage_failed", "run_finished"});
  CHECK(json::parse(received[0].body).at("error_kind") == "interrupted");
  CHECK(json::parse(received[1].body).at("status") == "incomplete");
  CHECK(run_events(env, "stopped", "webhook_delivered").size() == 2);
}

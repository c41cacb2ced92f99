// End to end: the webhooks of a real `pipeline run` are verified by the
// Standard Webhooks project's own JavaScript library (npm standardwebhooks),
// in a receiver that runs as a Node.js process (tests/node/). Node.js and
// node_modules come from scripts/setup.sh --test-tools; without them the test
// fails and says so.

#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "lib/notify/webhook_signature.hpp"
#include "tests/support/cli_env.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/run_fixture.hpp"
#include "tests/support/webhook_receiver.hpp"

using namespace pipeline::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// 32 bytes from /dev/urandom in the spec's form.
constexpr const char* k_standard_whsec = "whsec_iWggHe5AyjHPEeGIE5YuPhrTM7IsXWX0Zr6p0VxdrcE=";
// A secret without the prefix: its bytes are the key.
constexpr const char* k_standard_raw_secret = "pipeline-e2e-raw-secret-9c41d7";

// doctest prints a char pointer as an address, so this is a std::string.
const std::string k_setup_hint = "run scripts/setup.sh --test-tools (it installs Node.js and `npm ci`s package.json)";

// Fails the test unless Node.js and the pinned standardwebhooks package are there.
void require_standard_webhooks_tools() {
  const std::string node = PIPELINE_NODE;
  REQUIRE_MESSAGE(!node.empty(), "Node.js was not found when CMake configured the build; " << k_setup_hint
                                                                                          << ", then configure again");
  REQUIRE_MESSAGE(std::filesystem::exists(node), node << " is gone; " << k_setup_hint);
  const std::string package = std::string(PIPELINE_NODE_MODULES) + "/standardwebhooks/package.json";
  REQUIRE_MESSAGE(std::filesystem::exists(package), package << " is missing; " << k_setup_hint);
}

// tests/node/standard_webhooks_receiver.mjs as a real process on 127.0.0.1.
class StandardWebhooksReceiver {
 public:
  // `raw`: the library takes the secret's bytes as the key instead of decoding whsec_.
  StandardWebhooksReceiver(const std::string& secret, bool raw) {
    std::vector<std::string> argv = {PIPELINE_NODE,
                                     std::string(PIPELINE_TEST_SOURCE_DIR) + "/node/standard_webhooks_receiver.mjs",
                                     "--out", m_dir / "deliveries.ndjson"};
    if (raw) argv.push_back("--raw");
    ProcessOptions options;
    options.env["STANDARD_WEBHOOKS_SECRET"] = secret;
    m_process = std::make_unique<Process>(argv, options);
    const std::string prefix = "listening on ";
    const bool listening = eventually(
        [&] { return m_process->stdout_so_far().find('\n') != std::string::npos || !m_process->running(); }, 15s);
    const std::string out = m_process->stdout_so_far();
    if (!listening || out.rfind(prefix, 0) != 0) {
      auto ended = m_process->wait(1s);
      FAIL("the Node.js receiver did not start: " << ended.err << ended.out);
    }
    m_url = out.substr(prefix.size(), out.find('\n') - prefix.size());
  }
  ~StandardWebhooksReceiver() {
    m_process->send_signal(SIGTERM);
    m_process->wait(5s);
  }
  StandardWebhooksReceiver(const StandardWebhooksReceiver&) = delete;
  StandardWebhooksReceiver& operator=(const StandardWebhooksReceiver&) = delete;

  const std::string& url() const { return m_url; }

  // What the receiver recorded of each delivery, in order of arrival.
  std::vector<json> deliveries() const {
    std::ifstream in(m_dir / "deliveries.ndjson");
    std::stringstream text;
    text << in.rdbuf();
    std::vector<json> found;
    for (const auto& line : split_lines(text.str())) found.push_back(json::parse(line));
    return found;
  }

 private:
  TempDir m_dir;
  std::unique_ptr<Process> m_process;
  std::string m_url;
};

std::vector<json> standard_run_events(const CliEnv& env, const std::string& run_id, const std::string& name) {
  std::vector<json> found;
  for (const auto& line : split_lines(env.read(run_id, "events.ndjson"))) {
    auto event = json::parse(line);
    if (event.at("event") == name) found.push_back(std::move(event));
  }
  return found;
}

ProcessResult run_notifying(CliEnv& env, const std::string& secret, const std::string& run_id, const std::string& url) {
  env.options.env["PIPELINE_WEBHOOK_SECRET"] = secret;
  env.options.env["PIPELINE_ALLOW_PRIVATE_URLS"] = "";
  return env.run({"run", example_pdf_path(), "--brand", env.brand_path, "--run-id", run_id, "--notify", url,
                  "--allow-private-urls"});
}

}  // namespace

TEST_CASE("the standardwebhooks library verifies every delivery of a run, for a whsec_ secret and for a raw one") {
  require_standard_webhooks_tools();
  FakeLlmServer server;
  CliEnv env(server);
  const struct {
    const char* run_id;
    const char* secret;
    bool raw;
  } cases[] = {{"whsec-run", k_standard_whsec, false}, {"raw-run", k_standard_raw_secret, true}};
  for (const auto& item : cases) {
    INFO(item.run_id);
    StandardWebhooksReceiver receiver(item.secret, item.raw);
    auto result = run_notifying(env, item.secret, item.run_id, receiver.url());
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    // The command waited for its deliveries before it exited.
    const auto deliveries = receiver.deliveries();
    REQUIRE(deliveries.size() == 6);
    std::vector<std::string> names;
    std::set<std::string> ids;
    for (const auto& delivery : deliveries) {
      INFO(delivery.dump());
      const json& headers = delivery.at("headers");
      CHECK(delivery.at("verified") == true);
      // One byte changed in the body, and the library refuses it.
      CHECK(delivery.at("tampered_refused") == true);
      CHECK(delivery.at("tampered_error") == "No matching signature found");
      // The timestamp is the attempt's, by the receiver's clock.
      CHECK(std::abs(delivery.at("skew_s").get<int>()) <= 5);
      CHECK(headers.at("webhook-id") == headers.at("x-pipeline-delivery"));
      CHECK(headers.at("webhook-id").get<std::string>().size() == 32);
      // The old signature is still there for receivers written against it.
      CHECK(pipeline::notify::verify_webhook_signature(item.secret, delivery.at("body").get<std::string>(),
                                                       headers.at("x-pipeline-signature").get<std::string>()));
      names.push_back(json::parse(delivery.at("body").get<std::string>()).at("event"));
      ids.insert(headers.at("webhook-id"));
    }
    CHECK(names == std::vector<std::string>{"stage_done", "stage_done", "stage_done", "stage_done", "stage_done",
                                            "run_finished"});
    CHECK(ids.size() == 6);
    // The run recorded each delivery as the receiver's 204.
    const auto delivered = standard_run_events(env, item.run_id, "webhook_delivered");
    REQUIRE(delivered.size() == 6);
    for (const auto& record : delivered) {
      CHECK(record.at("http_status") == 204);
      CHECK(ids.count(record.at("delivery_id")) == 1);
    }
  }
}

TEST_CASE("a receiver that takes the whsec_ secret's text as the key refuses every delivery, and the run records it") {
  require_standard_webhooks_tools();
  FakeLlmServer server;
  CliEnv env(server);
  // The key is the secret's decoded bytes; its text is another key.
  StandardWebhooksReceiver receiver(k_standard_whsec, true);
  auto result = run_notifying(env, k_standard_whsec, "misread", receiver.url());
  INFO(result.err);
  // Webhooks never fail the run.
  REQUIRE(result.exit_code == 0);
  const auto deliveries = receiver.deliveries();
  REQUIRE(deliveries.size() == 6);
  for (const auto& delivery : deliveries) {
    CHECK(delivery.at("verified") == false);
    CHECK(delivery.at("error") == "No matching signature found");
  }
  // A 401 is not retried: each delivery is given up after one attempt.
  const auto gave_up = standard_run_events(env, "misread", "webhook_gave_up");
  REQUIRE(gave_up.size() == 6);
  for (const auto& record : gave_up) CHECK(record.at("reason").get<std::string>().find("HTTP 401") == 0);
  CHECK(standard_run_events(env, "misread", "webhook_delivered").empty());
}

TEST_CASE("a whsec_ secret that is not base64 is exit 3 with one line before any work") {
  FakeLlmServer server;
  WebhookReceiver receiver;
  CliEnv env(server);
  auto result = run_notifying(env, "whsec_not-base64!", "refused", receiver.url());
  CHECK(result.exit_code == 3);
  const auto lines = split_lines(result.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("PIPELINE_WEBHOOK_SECRET") != std::string::npos);
  CHECK(lines[0].find("base64") != std::string::npos);
  CHECK(lines[0].find("not-base64!") == std::string::npos);
  CHECK_FALSE(std::filesystem::exists(env.runs_dir + "/refused"));
  CHECK(server.request_count() == 0);
  CHECK(receiver.received().empty());
}

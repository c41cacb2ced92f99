#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/cli_env.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/marked_document.hpp"
#include "tests/support/queue_world.hpp"
#include "tests/support/serve_process.hpp"
#include "tests/support/terminate.hpp"

using namespace pipeline::testing;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr const char* k_serve_token = "svc-token-0123456789abcdef";

// POSTs the PDF for the test brand; returns the answer.
HttpAnswer serve_upload(const ServeProcess& serve, const std::string& pdf, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"-F", "file=@" + pdf + ";type=application/pdf", "-F", "brand=test-dairy"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(serve.url + "/v1/runs");
  return curl_http(args);
}

json serve_run(const ServeProcess& serve, const std::string& run_id, std::vector<std::string> extra = {}) {
  extra.push_back(serve.url + "/v1/runs/" + run_id);
  return curl_http(extra).json();
}

bool serve_run_has_status(const ServeProcess& serve, const std::string& run_id, const std::string& status) {
  return serve_run(serve, run_id).value("status", "") == status;
}

// The whole event stream of a run, read until the server ends it.
std::string serve_events(const ServeProcess& serve, const std::string& run_id, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{"curl", "-sS", "-N", "--max-time", "120"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(serve.url + "/v1/runs/" + run_id + "/events");
  const auto result = run_process(argv);
  INFO(result.err);
  CHECK(result.exit_code == 0);
  return result.out;
}

int serve_stages_done(const json& run) {
  int done = 0;
  for (const auto& stage : run.at("stages")) done += stage.at("status") == "done";
  return done;
}

void check_problem(const HttpAnswer& answer, int status, const std::string& slug) {
  INFO(answer.body);
  CHECK(answer.status == status);
  CHECK(answer.headers.at("content-type") == "application/problem+json");
  const auto problem = answer.json();
  CHECK(problem.at("type") == "urn:pipeline:problem:" + slug);
  CHECK(problem.at("status") == status);
  CHECK_FALSE(problem.at("detail").get<std::string>().empty());
}

}  // namespace

TEST_CASE("serve: an uploaded PDF becomes a run whose stages, events, reports and listing are all over HTTP") {
  FakeLlmServer server;
  CliEnv env(server);
  auto serve = start_serve(env);

  CHECK(curl_http({serve.url + "/healthz"}).json() == json{{"status", "ok"}});
  const auto ready = curl_http({serve.url + "/readyz"});
  CHECK(ready.status == 200);
  CHECK(ready.json().at("workers") == 2);

  const auto created = serve_upload(serve, write_marked_pdf(env, "Servemark"));
  REQUIRE(created.status == 202);
  const auto body = created.json();
  const std::string id = body.at("run_id");
  CHECK(body.at("status") == "queued");
  CHECK(created.headers.at("location") == "/v1/runs/" + id);
  CHECK(body.at("read_token").is_null());  // no tokens configured, none needed
  CHECK(body.at("links").at("events") == "/v1/runs/" + id + "/events");

  // The stream replays from the start, follows the run live and ends after it.
  const auto events = sse_ids_and_names(serve_events(serve, id));
  REQUIRE_FALSE(events.empty());
  for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i].first == static_cast<long>(i + 1));
  CHECK(events.front().second == "run_started");
  int done_events = 0;
  for (const auto& [event_id, name] : events) done_events += name == "stage_done";
  CHECK(done_events == 5);
  CHECK(std::count_if(events.begin(), events.end(), [](const auto& e) { return e.second == "run_finished"; }) == 1);

  const auto run = serve_run(serve, id);
  CHECK(run.at("status") == "completed");
  CHECK(serve_stages_done(run) == 5);
  CHECK(run.at("document").at("source").get<std::string>().find('/') == std::string::npos);
  CHECK(run.at("stages").at(4).at("prompt_tokens").get<long>() > 0);
  CHECK(run.at("job").at("state") == "done");

  const std::vector<std::pair<std::string, std::string>> downloads{
      {"report.html", "text/html"}, {"report.md", "text/markdown"}, {"report.pdf", "application/pdf"},
      {"opportunities.json", "application/json"}, {"stages/1.json", "application/json"}};
  for (const auto& [name, type] : downloads) {
    const auto answer = curl_http({serve.url + "/v1/runs/" + id + "/" + name});
    CAPTURE(name);
    CHECK(answer.status == 200);
    CHECK(answer.headers.at("content-type").rfind(type, 0) == 0);
    CHECK(answer.body.size() > 100);
  }
  CHECK(curl_http({serve.url + "/v1/runs/" + id + "/report.pdf"}).body.rfind("%PDF-", 0) == 0);
  CHECK(curl_http({serve.url + "/v1/runs/" + id + "/opportunities.json"}).json().at("opportunities").size() == 5);
  check_problem(curl_http({serve.url + "/v1/runs?status=finished"}), 400, "invalid-request");
  check_problem(curl_http({serve.url + "/v1/runs/" + id + "/stages/7.json"}), 404, "not-found");
  check_problem(curl_http({serve.url + "/v1/runs/no-such-run"}), 404, "not-found");
  check_problem(curl_http({"-X", "DELETE", serve.url + "/v1/runs/" + id}), 405, "method-not-allowed");

  const auto listed = curl_http({serve.url + "/v1/runs?status=completed&limit=5"}).json();
  REQUIRE(listed.at("runs").size() == 1);
  CHECK(listed.at("runs").at(0).at("run_id") == id);
  CHECK(listed.at("next_cursor").is_null());
  check_problem(curl_http({serve.url + "/v1/runs?limit=0"}), 400, "invalid-request");

  const auto metrics = curl_http({serve.url + "/metrics"});
  CHECK(metrics.headers.at("content-type").rfind("text/plain; version=0.0.4", 0) == 0);
  CHECK(metrics.body.find("pipeline_runs{status=\"completed\"} 1") != std::string::npos);
  CHECK(metrics.body.find("pipeline_stage_duration_seconds_count{stage=\"opportunities\"} 1") != std::string::npos);
  CHECK(metrics.body.find("pipeline_http_responses_total{code=\"202\"} 1") != std::string::npos);
  stop_cleanly(*serve.process);
}

TEST_CASE("serve: brands are listed, read and replaced over HTTP, validated as brands push validates") {
  FakeLlmServer server;
  CliEnv env(server);
  auto serve = start_serve(env);
  const auto brands = curl_http({serve.url + "/v1/brands"}).json().at("brands");
  CHECK(std::any_of(brands.begin(), brands.end(), [](const json& b) { return b.at("id") == "test-dairy"; }));
  auto profile = curl_http({serve.url + "/v1/brands/test-dairy"}).json();
  CHECK(profile.at("company_name") == "Testmark Dairy Cooperative");

  profile["id"] = "pushed-dairy";
  profile["company_name"] = "Pushed Dairy Ltd.";
  const auto put = curl_http({"-X", "PUT", "-H", "Content-Type: application/json", "--data-binary", profile.dump(),
                              serve.url + "/v1/brands/pushed-dairy"});
  CHECK(put.status == 200);
  CHECK(put.json() == json{{"id", "pushed-dairy"}, {"name", "Pushed Dairy Ltd."}});
  CHECK(curl_http({serve.url + "/v1/brands/pushed-dairy"}).json().at("company_name") == "Pushed Dairy Ltd.");

  auto invalid = profile;
  invalid.erase("company_name");
  check_problem(curl_http({"-X", "PUT", "--data-binary", invalid.dump(), serve.url + "/v1/brands/pushed-dairy"}), 422,
                "unprocessable");
  check_problem(curl_http({"-X", "PUT", "--data-binary", profile.dump(), serve.url + "/v1/brands/other-id"}), 422,
                "unprocessable");
  auto with_file = profile;
  with_file["research_file"] = "/etc/passwd";
  check_problem(curl_http({"-X", "PUT", "--data-binary", with_file.dump(), serve.url + "/v1/brands/pushed-dairy"}), 422,
                "unprocessable");
  check_problem(curl_http({serve.url + "/v1/brands/no-such-brand"}), 404, "not-found");
  stop_cleanly(*serve.process);
}

TEST_CASE("serve: an Idempotency-Key answers the first answer again, and a reused key with another body is a 422") {
  FakeLlmServer server;
  CliEnv env(server);
  auto serve = start_serve(env);
  const std::string pdf = write_marked_pdf(env, "Idemmark");
  const auto first = serve_upload(serve, pdf, {"-H", "Idempotency-Key: order-7731"});
  REQUIRE(first.status == 202);
  const auto again = serve_upload(serve, pdf, {"-H", "Idempotency-Key: order-7731"});
  CHECK(again.status == 202);
  CHECK(again.json() == first.json());
  CHECK(again.headers.at("location") == first.headers.at("location"));
  CHECK(again.headers.at("idempotent-replayed") == "true");
  check_problem(serve_upload(serve, pdf, {"-H", "Idempotency-Key: order-7731", "-F", "priority=high"}), 422,
                "idempotency-key-reused");
  // Without a key the same upload is a second run.
  const auto other = serve_upload(serve, pdf);
  CHECK(other.json().at("run_id") != first.json().at("run_id"));
  CHECK(curl_http({serve.url + "/v1/runs?limit=100"}).json().at("runs").size() == 2);
  stop_cleanly(*serve.process);
}

TEST_CASE("serve: an event stream cut off and resumed with Last-Event-ID loses and repeats no event") {
  FakeLlmServer server;
  server.set_pace({milliseconds(500), 0});
  CliEnv env(server);
  auto serve = start_serve(env, {"--sse-keepalive", "200ms"});
  const std::string id = serve_upload(serve, write_marked_pdf(env, "Cutmark")).json().at("run_id");

  // A client that drops the connection after a second, as a phone losing its network would.
  std::vector<std::pair<long, std::string>> seen;
  long last = 0;
  int connections = 0;
  int keepalives = 0;
  while (connections < 60) {
    ++connections;
    std::vector<std::string> argv{"curl", "-sS", "-N", "--max-time", "1", "-H", "Last-Event-ID: " + std::to_string(last),
                                  serve.url + "/v1/runs/" + id + "/events"};
    const auto part = run_process(argv);
    const auto events = sse_ids_and_names(part.out);
    seen.insert(seen.end(), events.begin(), events.end());
    if (!events.empty()) last = events.back().first;
    for (auto at = part.out.find(": keep-alive"); at != std::string::npos; at = part.out.find(": keep-alive", at + 1)) {
      ++keepalives;
    }
    CHECK((part.out.empty() || part.out.find("retry: 2000") != std::string::npos));
    // A stream that ended by itself (exit 0, not curl's timeout 28) has sent everything.
    if (part.exit_code == 0) break;
  }
  CHECK(connections > 2);
  // Between events 200 ms apart or more, the idle stream was kept alive with comments.
  CHECK(keepalives > 0);
  const auto whole = sse_ids_and_names(serve_events(serve, id));
  CHECK(seen == whole);
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i].first == static_cast<long>(i + 1));
  stop_cleanly(*serve.process);
}

TEST_CASE("serve: tokens are needed, and a run's read token reads that run alone") {
  FakeLlmServer server;
  CliEnv env(server);
  env.options.env["PIPELINE_SERVE_TOKENS"] = std::string("another-token-abcdefghij,") + k_serve_token;
  auto serve = start_serve(env);
  const std::string bearer = std::string("Authorization: Bearer ") + k_serve_token;
  const std::string pdf = write_marked_pdf(env, "Tokenmark");

  check_problem(serve_upload(serve, pdf), 401, "unauthorized");
  CHECK(serve_upload(serve, pdf).headers.at("www-authenticate").rfind("Bearer", 0) == 0);
  check_problem(serve_upload(serve, pdf, {"-H", "Authorization: Bearer not-a-token-at-all"}), 401, "unauthorized");
  const auto first = serve_upload(serve, pdf, {"-H", bearer}).json();
  const auto second = serve_upload(serve, pdf, {"-H", bearer}).json();
  const std::string first_id = first.at("run_id");
  const std::string second_id = second.at("run_id");
  const std::string read_token = first.at("read_token");
  CHECK(read_token.rfind("prt_", 0) == 0);
  CHECK_FALSE(first.at("read_token_expires_at").is_null());

  CHECK(curl_http({"-H", "Authorization: Bearer " + read_token, serve.url + "/v1/runs/" + first_id}).status == 200);
  CHECK(curl_http({serve.url + "/v1/runs/" + first_id + "?access_token=" + read_token}).status == 200);
  check_problem(curl_http({"-H", "Authorization: Bearer " + read_token, serve.url + "/v1/runs/" + second_id}), 403, "forbidden");
  check_problem(curl_http({serve.url + "/v1/runs/" + second_id + "/events?access_token=" + read_token}), 403, "forbidden");
  check_problem(curl_http({serve.url + "/v1/runs?access_token=" + read_token}), 403, "forbidden");
  check_problem(curl_http({"-X", "POST", "--data", "", serve.url + "/v1/runs/" + first_id + "/cancel?access_token=" + read_token}), 403,
                "forbidden");
  check_problem(curl_http({serve.url + "/v1/runs/" + first_id}), 401, "unauthorized");
  check_problem(curl_http({serve.url + "/metrics"}), 401, "unauthorized");
  // EventSource cannot set headers: the query parameter opens the stream.
  const auto events = sse_ids_and_names(serve_events(serve, first_id, {"-G", "--data-urlencode", "access_token=" + read_token}));
  CHECK_FALSE(events.empty());
  // A token cut or changed by one character opens nothing.
  std::string forged = read_token;
  forged.back() = forged.back() == 'a' ? 'b' : 'a';
  check_problem(curl_http({serve.url + "/v1/runs/" + forged.substr(forged.rfind('_') + 1) + "?access_token=" + forged}), 401,
                "unauthorized");
  // The page, its description and health need no token.
  CHECK(curl_http({serve.url + "/healthz"}).status == 200);
  const auto out = serve.process->stdout_so_far();
  stop_cleanly(*serve.process);
  const auto log = serve.process->wait();
  CHECK(log.err.find(k_serve_token) == std::string::npos);
  CHECK(out.find(k_serve_token) == std::string::npos);
}

TEST_CASE("serve refuses to listen beyond loopback without tokens") {
  FakeLlmServer server;
  CliEnv env(server);
  const auto refused = env.run({"serve", "--listen", "0.0.0.0:0"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("pipeline: error: refusing to listen on 0.0.0.0 without tokens") == 0);
  const auto bad = env.run({"serve", "--listen", "localhost:http"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--listen takes HOST:PORT") != std::string::npos);
}

TEST_CASE("serve: hostile uploads get a problem document and disturb nothing else") {
  FakeLlmServer server;
  server.set_pace({milliseconds(100), 0});
  CliEnv env(server);
  auto serve = start_serve(env, {"--max-upload-mb", "1"});
  const std::string id = serve_upload(serve, write_marked_pdf(env, "Calmmark")).json().at("run_id");

  const std::string junk = env.dir / "junk.pdf";
  std::ofstream(junk) << "%PDF-1.7\nthis is no PDF at all\n";
  check_problem(serve_upload(serve, junk), 422, "unprocessable");
  const std::string big = env.dir / "big.pdf";
  std::ofstream(big) << std::string(3 << 20, 'x');
  check_problem(serve_upload(serve, big), 413, "payload-too-large");
  check_problem(curl_http({"-F", "brand=test-dairy", serve.url + "/v1/runs"}), 400, "invalid-request");
  check_problem(curl_http({"-F", "file=@" + write_marked_pdf(env, "Nobrandmark"), "-F", "brand=../../etc", serve.url + "/v1/runs"}),
                422, "unprocessable");
  check_problem(curl_http({"-F", "file=@" + write_marked_pdf(env, "Nobrandmark"), "-F", "brand=no-such-brand",
                           serve.url + "/v1/runs"}),
                422, "unprocessable");
  check_problem(curl_http({"-H", "Content-Type: text/plain", "--data-binary", "hello", serve.url + "/v1/runs"}), 415,
                "unsupported-media-type");
  check_problem(curl_http({"-H", "Content-Type: application/json", "--data-binary", "{\"source_url\": [1]}",
                           serve.url + "/v1/runs"}), 400, "invalid-request");
  check_problem(curl_http({"-H", "Content-Type: application/json", "--data-binary",
                           R"({"source_url": "file:///etc/passwd", "brand": "test-dairy"})", serve.url + "/v1/runs"}),
                422, "unprocessable");
  check_problem(curl_http({"-H", "Content-Type: application/json", "--data-binary",
                           R"({"source_url": "http://169.254.169.254/latest/meta-data", "brand": "test-dairy"})",
                           serve.url + "/v1/runs"}),
                422, "unprocessable");
  check_problem(curl_http({"-H", "Content-Type: application/json", "--data-binary",
                           R"({"source_url": "https://example.com/a.pdf", "brand": "test-dairy", "notify": "http://127.0.0.1:9/x"})",
                           serve.url + "/v1/runs"}),
                422, "unprocessable");
  check_problem(curl_http({"-H", "X-Long: " + std::string(20000, 'a'), serve.url + "/healthz"}), 400, "invalid-request");
  // Many header lines, each short enough alone: the head as a whole is bounded.
  const std::string many_headers = env.dir / "headers.txt";
  {
    std::ofstream out(many_headers);
    for (int i = 0; i < 200; ++i) out << "X-Fill-" << i << ": " << std::string(1000, 'h') << "\n";
  }
  check_problem(curl_http({"-H", "@" + many_headers, serve.url + "/healthz"}), 400, "invalid-request");
  // Nothing of it became a run, and the run in progress went on.
  CHECK(eventually([&] { return serve_run_has_status(serve, id, "completed"); }, seconds(60)));
  CHECK(curl_http({serve.url + "/v1/runs"}).json().at("runs").size() == 1);
  stop_cleanly(*serve.process);
}

TEST_CASE("serve: with 100 event streams open, GET and POST still answer at once") {
  FakeLlmServer server;
  server.set_pace({milliseconds(400), 0});
  CliEnv env(server);
  auto serve = start_serve(env, {"--workers", "1"});
  const std::string id = serve_upload(serve, write_marked_pdf(env, "Crowdmark")).json().at("run_id");
  std::vector<std::unique_ptr<Process>> streams;
  for (int i = 0; i < 100; ++i) {
    streams.push_back(std::make_unique<Process>(std::vector<std::string>{
        "curl", "-sS", "-N", "--max-time", "60", serve.url + "/v1/runs/" + id + "/events"}));
  }
  CHECK(eventually([&] {
    return curl_http({serve.url + "/metrics"}).body.find("pipeline_event_streams_open 100") != std::string::npos;
  }, seconds(20)));
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    CHECK(curl_http({serve.url + "/v1/runs/" + id}).status == 200);
    CHECK(serve_upload(serve, write_marked_pdf(env, "Crowdmark" + std::to_string(i))).status == 202);
    CHECK(std::chrono::steady_clock::now() - start < seconds(5));
  }
  for (auto& stream : streams) stream->send_signal(SIGKILL);
  for (auto& stream : streams) (void)stream->wait();
  stop_cleanly(*serve.process);
}

TEST_CASE("serve: kill -9 mid-run, start again: the run completes from its checkpoint (folder store)") {
  FakeLlmServer server;
  server.set_pace({milliseconds(300), 0});
  CliEnv env(server);
  env.disable_cache();
  auto serve = start_serve(env);
  const std::string id = serve_upload(serve, write_marked_pdf(env, "Killmark")).json().at("run_id");
  REQUIRE(eventually([&] { return serve_stages_done(serve_run(serve, id)) >= 2; }, seconds(60)));
  serve.process->send_signal(SIGKILL);
  (void)serve.process->wait();
  const int stage_one_asked = marked_requests(server, "Killmark", "mechanisms");

  auto again = start_serve(env);
  CHECK(eventually([&] { return serve_run_has_status(again, id, "completed"); }, seconds(90)));
  // Stages saved before the kill were not asked again.
  CHECK(marked_requests(server, "Killmark", "mechanisms") == stage_one_asked);
  const auto events = sse_ids_and_names(serve_events(again, id));
  CHECK(std::count_if(events.begin(), events.end(), [](const auto& e) { return e.second == "stage_done"; }) >= 5);
  stop_cleanly(*again.process);
}

TEST_CASE("serve: SIGTERM stops accepting, drains the run to a checkpoint, and the next start finishes it") {
  FakeLlmServer server;
  server.set_pace({milliseconds(300), 0});
  CliEnv env(server);
  env.disable_cache();
  auto serve = start_serve(env, {"--drain-timeout", "1s"});
  const std::string id = serve_upload(serve, write_marked_pdf(env, "Drainmark")).json().at("run_id");
  REQUIRE(eventually([&] { return serve_stages_done(serve_run(serve, id)) >= 1; }, seconds(60)));
  const auto stopped = terminate_process(*serve.process, seconds(20));
  CHECK(stopped.result.exit_code == 0);
  CHECK(stopped.seconds < 10);
  // Drained: saved, and queued again for the next start.
  const auto job = json::parse(std::ifstream(env.runs_dir + "/.jobs/" + id + ".json"));
  CHECK(job.at("state") == "queued");
  auto again = start_serve(env);
  CHECK(eventually([&] { return serve_run_has_status(again, id, "completed"); }, seconds(90)));
  stop_cleanly(*again.process);
}

TEST_CASE("serve: a run is cancelled, retried, and redone from a stage") {
  FakeLlmServer server;
  server.set_pace({milliseconds(200), 0});
  CliEnv env(server);
  auto serve = start_serve(env);
  const std::string id = serve_upload(serve, write_marked_pdf(env, "Cancelmark")).json().at("run_id");
  REQUIRE(eventually([&] { return serve_run_has_status(serve, id, "running"); }, seconds(30)));
  const auto cancelled = curl_http({"-X", "POST", "--data", "", serve.url + "/v1/runs/" + id + "/cancel"});
  CHECK(cancelled.status == 202);
  CHECK(serve_run(serve, id).at("status") == "cancelled");
  // The stream of a cancelled run ends by itself.
  CHECK_FALSE(serve_events(serve, id).empty());
  check_problem(curl_http({"-X", "POST", "--data", "", serve.url + "/v1/runs/" + id + "/cancel"}), 409, "conflict");

  CHECK(curl_http({"-X", "POST", "--data", "", serve.url + "/v1/runs/" + id + "/retry"}).status == 202);
  CHECK(eventually([&] { return serve_run_has_status(serve, id, "completed"); }, seconds(60)));
  const int cards_before = static_cast<int>(requests_per_schema(server)["opportunity_card"]);
  CHECK(curl_http({"-X", "POST", "-H", "Content-Type: application/json", "--data-binary", R"({"from_stage": 5})",
                   serve.url + "/v1/runs/" + id + "/retry"}).status == 202);
  CHECK(eventually([&] {
    return requests_per_schema(server)["opportunity_card"] > cards_before && serve_run_has_status(serve, id, "completed");
  }, seconds(60)));
  check_problem(curl_http({"-X", "POST", "--data-binary", R"({"from_stage": 9})", serve.url + "/v1/runs/" + id + "/retry"}),
                422, "unprocessable");
  stop_cleanly(*serve.process);
}

TEST_CASE("serve: CORS answers the allowed origin only") {
  FakeLlmServer server;
  CliEnv env(server);
  auto serve = start_serve(env, {"--cors-origin", "https://app.example.com"});
  const auto preflight = curl_http({"-X", "OPTIONS", "-H", "Origin: https://app.example.com", "-H",
                                    "Access-Control-Request-Method: POST", serve.url + "/v1/runs"});
  CHECK(preflight.status == 204);
  CHECK(preflight.headers.at("access-control-allow-origin") == "https://app.example.com");
  CHECK(preflight.headers.at("access-control-allow-headers").find("Idempotency-Key") != std::string::npos);
  const auto other = curl_http({"-H", "Origin: https://evil.example.net", serve.url + "/v1/brands"});
  CHECK(other.headers.count("access-control-allow-origin") == 0);
  stop_cleanly(*serve.process);
}

TEST_CASE("serve with a Redis store queues for workers; two serves share it, and kill -9 of one loses nothing") {
  QueueWorld world;
  world.server.set_pace({milliseconds(200), 0});
  world.env.options.env["PIPELINE_SERVE_TOKENS"] = k_serve_token;
  const std::string bearer = std::string("Authorization: Bearer ") + k_serve_token;
  auto serve = start_serve(world.env, {"--workers", "0"});
  auto other = start_serve(world.env, {"--workers", "1"});
  auto first = world.start_worker();
  auto second = world.start_worker();
  const auto created = serve_upload(serve, write_marked_pdf(world.env, "Redismark"), {"-H", bearer}).json();
  const std::string id = created.at("run_id");
  const std::string read_token = created.at("read_token");
  CHECK(eventually([&] { return curl_http({serve.url + "/readyz"}).status == 200; }, seconds(10)));
  // Behind a load balancer, the other serve reads the run with the first one's read token.
  REQUIRE(eventually([&] { return serve_stages_done(serve_run(other, id, {"-H", "Authorization: Bearer " + read_token})) >= 1; },
                     seconds(60)));
  serve.process->send_signal(SIGKILL);
  (void)serve.process->wait();
  // The workers go on without it; a new serve shows the run and its events.
  auto again = start_serve(world.env, {"--workers", "0"});
  CHECK(eventually([&] { return serve_run(again, id, {"-H", bearer}).value("status", "") == "completed"; }, seconds(90)));
  const auto events = sse_ids_and_names(serve_events(again, id, {"-H", "Authorization: Bearer " + read_token}));
  CHECK(std::count_if(events.begin(), events.end(), [](const auto& e) { return e.second == "stage_done"; }) == 5);
  CHECK(world.job_state(id) == "done");
  // A second run, queued through the other serve, is run by whichever worker takes it.
  const std::string next = serve_upload(other, write_marked_pdf(world.env, "Redismark2"), {"-H", bearer}).json().at("run_id");
  CHECK(eventually([&] { return serve_run(other, next, {"-H", bearer}).value("status", "") == "completed"; }, seconds(90)));
  stop_cleanly(*first);
  stop_cleanly(*second);
  stop_cleanly(*again.process);
  stop_cleanly(*other.process);
}

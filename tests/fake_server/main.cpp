// fake-llm-server: the test fake of an OpenAI-compatible API, on its own, for
// benchmarks and shell use. Prints "listening on http://127.0.0.1:PORT/v1" and
// serves until SIGTERM or SIGINT; then prints "requests: N" (chat requests
// answered), "max in flight: N" (the most answered at the same moment) and
// "rate limited: N" (refused with 429 for --rpm/--tpm, a provider's limits).

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/fake_server/fake_llm_server.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_stop(int) { g_stop = 1; }

int usage(const char* message) {
  std::fprintf(stderr,
               "fake-llm-server: %s\n"
               "usage: fake-llm-server [--port N] [--first-token-ms N] [--tokens-per-second X] [--model NAME]... [--dialect NAME] [--cost report|none] [--cache none|openai|anthropic] [--rpm N] [--tpm N] [--limit-window-ms N]\n"
               "Serves POST /v1/chat/completions and GET /v1/models on 127.0.0.1 (a free port unless --port).\n",
               message);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  pipeline::testing::Pace pace;
  std::vector<std::string> models;
  int port = 0;
  pipeline::testing::Dialect dialect = pipeline::testing::Dialect::openai;
  bool report_cost = true;
  pipeline::testing::CacheRules cache = pipeline::testing::CacheRules::none;
  pipeline::testing::ProviderLimitSettings limits;
  for (int i = 1; i < argc; ++i) {
    const std::string option = argv[i];
    if (option == "--help" || option == "-h") {
      usage("a fake OpenAI-compatible model server");
      return 0;
    }
    if (i + 1 >= argc) return usage(("missing value for " + option).c_str());
    const char* value = argv[++i];
    char* end = nullptr;
    if (option == "--port") {
      const long number = std::strtol(value, &end, 10);
      if (*end != '\0' || number < 0 || number > 65535) return usage("--port takes a port number");
      port = static_cast<int>(number);
    } else if (option == "--first-token-ms") {
      const long ms = std::strtol(value, &end, 10);
      if (*end != '\0' || ms < 0) return usage("--first-token-ms takes a whole number of milliseconds");
      pace.first_token = std::chrono::milliseconds(ms);
    } else if (option == "--tokens-per-second") {
      const double rate = std::strtod(value, &end);
      if (*end != '\0' || rate < 0) return usage("--tokens-per-second takes a number");
      pace.tokens_per_second = rate;
    } else if (option == "--cost") {
      const std::string choice = value;
      if (choice != "report" && choice != "none") return usage("--cost takes report or none");
      report_cost = choice == "report";
    } else if (option == "--dialect") {
      auto parsed = pipeline::testing::parse_dialect(value);
      if (!parsed) return usage("--dialect takes any, openai, anthropic, json-object-only, no-structured-output, no-usage, openai-reasoning or openrouter");
      dialect = *parsed;
    } else if (option == "--cache") {
      auto parsed = pipeline::testing::parse_cache_rules(value);
      if (!parsed) return usage("--cache takes none, openai or anthropic");
      cache = *parsed;
    } else if (option == "--rpm" || option == "--tpm") {
      const long long number = std::strtoll(value, &end, 10);
      if (*end != '\0' || number < 0) return usage((option + " takes a whole number (0: no limit)").c_str());
      if (option == "--rpm") limits.requests_per_minute = static_cast<int>(number);
      else limits.tokens_per_minute = number;
    } else if (option == "--limit-window-ms") {
      // Test-only: the provider's "minute" shortened, so that a test of the limits runs in seconds.
      const long long ms = std::strtoll(value, &end, 10);
      if (*end != '\0' || ms < 100) return usage("--limit-window-ms takes a whole number of 100 or more");
      limits.window = std::chrono::milliseconds(ms);
    } else if (option == "--model") {
      models.emplace_back(value);
    } else {
      return usage(("unknown option " + option).c_str());
    }
  }
  struct sigaction action {};
  action.sa_handler = on_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  try {
    pipeline::testing::FakeLlmServer server(port);
    server.set_pace(pace);
    server.set_dialect(dialect);
    server.set_report_cost(report_cost);
    server.set_cache_rules(cache);
    if (!models.empty()) server.set_models(models);
    if (limits.requests_per_minute > 0 || limits.tokens_per_minute > 0) server.set_provider_limits(limits);
    std::printf("listening on %s\n", server.base_url().c_str());
    std::fflush(stdout);
    while (g_stop == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::printf("requests: %d\nmax in flight: %d\nrate limited: %d\n", server.request_count(), server.max_in_flight(),
                server.rate_limited_count());
    std::fflush(stdout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fake-llm-server: %s\n", e.what());
    return 1;
  }
  return 0;
}

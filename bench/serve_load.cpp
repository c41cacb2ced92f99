// serve-load: the clients of bench/serve_bench.sh, talking to `pipeline serve`
// over loopback with cpp-httplib.
//
// Usage:
//   serve-load get <base-url> <path> [--threads N] [--seconds T] [--connection keep-alive|close]
//     N threads (default 4) GET the path one after another for T seconds
//     (default 5), each on its own keep-alive connection, or with `close` on a
//     new connection per request. Prints one line:
//     ok=<200 answers> errors=<others> seconds=<elapsed> per_second=<ok/s>
//     median_ms=<latency> p99_ms=<latency>
//   serve-load hold <base-url> <path> [--streams N]
//     Opens N (default 100) event streams on the path, each on its own
//     connection and thread, prints "open N" once every one has its answer's
//     headers and first bytes, and keeps reading them until SIGTERM or SIGINT.
//     Exits 1 when a stream is refused or ends while held.
//   serve-load sse-delay <base-url> --pdf FILE --brand ID [--runs N]
//     POSTs N runs (default 20) at once, follows each one's event stream to its
//     end and, for every stage_done event stamped after its stream was open,
//     takes arrival time - the event's "time" field. Prints
//     events=<measured> skipped=<stamped before the stream opened>
//     median_ms= p99_ms= max_ms= min_ms= runs_completed=<run_finished completed>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using SteadyClock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;

int usage(const std::string& message) {
  std::fprintf(stderr,
               "serve-load: %s\n"
               "usage: serve-load get <base-url> <path> [--threads N] [--seconds T] [--connection keep-alive|close]\n"
               "       serve-load hold <base-url> <path> [--streams N]\n"
               "       serve-load sse-delay <base-url> --pdf FILE --brand ID [--runs N]\n",
               message.c_str());
  return 2;
}

// The options after the positional arguments, as name -> value.
struct Options {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> named;

  std::optional<std::string> find(const std::string& name) const {
    for (const auto& [key, value] : named) {
      if (key == name) return value;
    }
    return std::nullopt;
  }
  int number(const std::string& name, int fallback) const {
    const auto value = find(name);
    return value ? std::stoi(*value) : fallback;
  }
};

std::optional<Options> parse_options(int argc, char** argv) {
  Options options;
  for (int i = 2; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.rfind("--", 0) == 0) {
      if (i + 1 >= argc) return std::nullopt;
      options.named.emplace_back(word, argv[++i]);
    } else {
      options.positional.push_back(word);
    }
  }
  return options;
}

// The value at fraction `q` of sorted `values` by nearest rank (q = 0.5 takes
// the mean of the two middle values of an even count).
double quantile(std::vector<double> values, double q) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  if (q == 0.5) {
    const std::size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  }
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

double ms_between(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

int run_get(const Options& options) {
  if (options.positional.size() != 2) return usage("get takes <base-url> <path>");
  const std::string base = options.positional[0];
  const std::string path = options.positional[1];
  const int threads = options.number("--threads", 4);
  const int seconds = options.number("--seconds", 5);
  const std::string connection = options.find("--connection").value_or("keep-alive");
  if (connection != "keep-alive" && connection != "close") return usage("--connection takes keep-alive or close");
  const bool keep_alive = connection == "keep-alive";
  std::atomic<long> ok{0};
  std::atomic<long> errors{0};
  std::mutex latencies_mutex;
  std::vector<double> latencies;
  const auto start = SteadyClock::now();
  const auto end = start + std::chrono::seconds(seconds);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      auto client = std::make_unique<httplib::Client>(base);
      std::vector<double> mine;
      while (SteadyClock::now() < end) {
        if (!keep_alive) client = std::make_unique<httplib::Client>(base);
        client->set_keep_alive(keep_alive);
        client->set_read_timeout(10, 0);
        const auto sent = SteadyClock::now();
        const auto answer = client->Get(path);
        const auto got = SteadyClock::now();
        if (answer && answer->status == 200 && !answer->body.empty()) {
          ++ok;
          mine.push_back(ms_between(sent, got));
        } else {
          ++errors;
        }
      }
      std::lock_guard lock(latencies_mutex);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& worker : workers) worker.join();
  const double elapsed = ms_between(start, SteadyClock::now()) / 1000;
  std::printf("ok=%ld errors=%ld seconds=%.3f per_second=%.1f median_ms=%.3f p99_ms=%.3f\n", ok.load(),
              errors.load(), elapsed, static_cast<double>(ok.load()) / elapsed, quantile(latencies, 0.5),
              quantile(latencies, 0.99));
  return 0;
}

int run_hold(const Options& options) {
  if (options.positional.size() != 2) return usage("hold takes <base-url> <path>");
  const std::string base = options.positional[0];
  const std::string path = options.positional[1];
  const int streams = options.number("--streams", 100);
  // Blocked before the threads start, so that only sigwait below takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::atomic<int> open{0};
  std::atomic<int> failed{0};
  for (int s = 0; s < streams; ++s) {
    std::thread([&, base, path] {
      httplib::Client client(base);
      client.set_read_timeout(3600, 0);
      bool counted = false;
      const auto answer = client.Get(
          path, [&](const httplib::Response& response) { return response.status == 200; },
          [&](const char*, std::size_t) {
            if (!counted) {
              counted = true;
              ++open;
            }
            return true;
          });
      // Only SIGTERM, which ends the process, may end a held stream.
      ++failed;
      std::fprintf(stderr, "serve-load: a held stream ended (%s)\n",
                   answer ? ("status " + std::to_string(answer->status)).c_str() : httplib::to_string(answer.error()).c_str());
    }).detach();
  }
  const auto give_up = SteadyClock::now() + std::chrono::seconds(30);
  while (open + failed < streams && SteadyClock::now() < give_up) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::printf("open %d\n", open.load());
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop_signals, &signal);
  // The sockets close with the process; the threads are left where they wait.
  std::fflush(stderr);
  std::_Exit(failed == 0 ? 0 : 1);
}

// Milliseconds since the epoch of "YYYY-MM-DDTHH:MM:SS.mmmZ"; nullopt otherwise.
std::optional<std::int64_t> parse_event_time(const std::string& text) {
  std::tm t{};
  int ms = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &t.tm_year, &t.tm_mon, &t.tm_mday, &t.tm_hour, &t.tm_min,
                  &t.tm_sec, &ms) != 7) {
    return std::nullopt;
  }
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&t)) * 1000 + ms;
}

std::int64_t system_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(SystemClock::now().time_since_epoch()).count();
}

// What one followed run's stream gave.
struct FollowedRun {
  std::vector<double> delays_ms;
  int skipped = 0;
  bool completed = false;
  std::string problem;
};

// Reads a run's event stream to its end; every stage_done stamped after the
// stream was open gives one delay.
void follow_run(const std::string& base, const std::string& run_id, FollowedRun& result) {
  httplib::Client client(base);
  client.set_read_timeout(300, 0);
  std::int64_t opened_ms = 0;
  std::string pending;
  std::string name;
  std::string data;
  const auto answer = client.Get(
      "/v1/runs/" + run_id + "/events",
      [&](const httplib::Response& response) {
        opened_ms = system_now_us() / 1000;
        return response.status == 200;
      },
      [&](const char* bytes, std::size_t size) {
        const std::int64_t arrived_us = system_now_us();
        pending.append(bytes, size);
        std::size_t at = 0;
        for (std::size_t newline; (newline = pending.find('\n', at)) != std::string::npos; at = newline + 1) {
          std::string line = pending.substr(at, newline - at);
          if (!line.empty() && line.back() == '\r') line.pop_back();
          if (line.rfind("event: ", 0) == 0) name = line.substr(7);
          if (line.rfind("data: ", 0) == 0) data = line.substr(6);
          if (!line.empty()) continue;
          // A blank line ends an event.
          if (name == "stage_done" || name == "run_finished") {
            const auto event = nlohmann::json::parse(data, nullptr, false);
            const auto stamped = event.is_object() ? parse_event_time(event.value("time", "")) : std::nullopt;
            if (!stamped) {
              result.problem = "an event without a readable time: " + data;
            } else if (name == "run_finished") {
              result.completed = event.value("status", "") == "completed";
            } else if (*stamped < opened_ms) {
              ++result.skipped;
            } else {
              result.delays_ms.push_back(static_cast<double>(arrived_us - *stamped * 1000) / 1000);
            }
          }
          name.clear();
          data.clear();
        }
        pending.erase(0, at);
        return true;
      });
  if (!answer) result.problem = "the event stream failed: " + httplib::to_string(answer.error());
}

int run_sse_delay(const Options& options) {
  if (options.positional.size() != 1) return usage("sse-delay takes <base-url>");
  const auto pdf_path = options.find("--pdf");
  const auto brand = options.find("--brand");
  if (!pdf_path || !brand) return usage("sse-delay needs --pdf and --brand");
  const std::string base = options.positional[0];
  const int runs = options.number("--runs", 20);
  std::ifstream pdf_file(*pdf_path, std::ios::binary);
  const std::string pdf((std::istreambuf_iterator<char>(pdf_file)), std::istreambuf_iterator<char>());
  if (pdf.empty()) return usage("cannot read " + *pdf_path);

  std::vector<FollowedRun> results(static_cast<std::size_t>(runs));
  std::vector<std::thread> followers;
  httplib::Client poster(base);
  poster.set_read_timeout(60, 0);
  for (int r = 0; r < runs; ++r) {
    const httplib::MultipartFormDataItems items{{"file", pdf, "document.pdf", "application/pdf"},
                                                {"brand", *brand, "", ""}};
    const auto answer = poster.Post("/v1/runs", items);
    if (!answer || answer->status != 202) {
      std::fprintf(stderr, "serve-load: POST /v1/runs failed: %s\n",
                   answer ? answer->body.c_str() : httplib::to_string(answer.error()).c_str());
      return 1;
    }
    const std::string run_id = nlohmann::json::parse(answer->body).at("run_id");
    followers.emplace_back(follow_run, base, run_id, std::ref(results[static_cast<std::size_t>(r)]));
  }
  for (auto& follower : followers) follower.join();
  std::vector<double> delays;
  int skipped = 0;
  int completed = 0;
  for (const auto& result : results) {
    if (!result.problem.empty()) {
      std::fprintf(stderr, "serve-load: %s\n", result.problem.c_str());
      return 1;
    }
    delays.insert(delays.end(), result.delays_ms.begin(), result.delays_ms.end());
    skipped += result.skipped;
    completed += result.completed;
  }
  std::printf("events=%zu skipped=%d median_ms=%.1f p99_ms=%.1f max_ms=%.1f min_ms=%.1f runs_completed=%d\n",
              delays.size(), skipped, quantile(delays, 0.5), quantile(delays, 0.99),
              delays.empty() ? std::nan("") : *std::max_element(delays.begin(), delays.end()),
              delays.empty() ? std::nan("") : *std::min_element(delays.begin(), delays.end()), completed);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage("which test: get, hold or sse-delay?");
  const std::string mode = argv[1];
  const auto options = parse_options(argc, argv);
  if (!options) return usage("an option without its value");
  try {
    if (mode == "get") return run_get(*options);
    if (mode == "hold") return run_hold(*options);
    if (mode == "sse-delay") return run_sse_delay(*options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "serve-load: %s\n", error.what());
    return 1;
  }
  return usage("unknown mode " + mode);
}

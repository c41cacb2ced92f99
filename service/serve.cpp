#include "service/serve.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <csignal>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "checkpoints/redis_run_store.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/error.hpp"
#include "service/folder_job_board.hpp"
#include "service/folder_workers.hpp"
#include "service/http_server.hpp"
#include "service/redis_job_board.hpp"
#include "service/worker_loop.hpp"

namespace pipeline::service {
namespace {

using util::ErrorKind;
using util::FatalError;

void say(const ServeOptions& options, const std::string& line) {
  if (options.log) options.log(line);
}

}  // namespace

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  // An address, not a name: "127.example.com" may resolve anywhere.
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  std::string v6_text = host;
  if (v6_text.size() > 2 && v6_text.front() == '[' && v6_text.back() == ']') v6_text = v6_text.substr(1, v6_text.size() - 2);
  in6_addr v6{};
  return ::inet_pton(AF_INET6, v6_text.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

int serve(const RunSettings& settings, const ServeOptions& options) {
  if (options.tokens.empty() && !is_loopback_host(options.host)) {
    throw FatalError(ErrorKind::usage, fmt::format("refusing to listen on {} without tokens: anyone who reaches it "
                                                   "could spend your provider's money; set PIPELINE_SERVE_TOKENS or "
                                                   "--token-file, or listen on 127.0.0.1",
                                                   options.host));
  }
  if (options.workers < 0) throw FatalError(ErrorKind::usage, "--workers must be 0 or more");
  require_key(settings.client);
  std::signal(SIGPIPE, SIG_IGN);
  util::install_stop_signal_handlers();

  auto store = open_store(settings);
  const auto location = checkpoints::parse_store_url(settings.store_url).value_or_throw();
  std::unique_ptr<JobBoard> board;
  std::unique_ptr<IdempotencyKeys> idempotency;
  FolderJobBoard* folder_board = nullptr;
  if (location.kind == checkpoints::StoreLocation::Kind::folder) {
    if (options.workers < 1) throw FatalError(ErrorKind::usage, "a folder store needs --workers 1 or more to run its jobs");
    auto opened = FolderJobBoard::open(location.folder).value_or_throw();
    folder_board = opened.get();
    board = std::move(opened);
    idempotency = make_folder_idempotency_keys(location.folder);
  } else {
    auto& redis = dynamic_cast<checkpoints::RedisRunStore&>(*store);
    board = std::make_unique<RedisJobBoard>(redis, options.run_ttl);
    idempotency = make_redis_idempotency_keys(redis);
  }

  const AccessTokens tokens(options.tokens, options.signing_key);
  ServeMetrics metrics;
  RunBell bell;
  ServeContext context{settings, options, *store, *board, *idempotency, tokens, metrics, bell};
  // Without workers of its own, events come from other processes: look at the store more often.
  context.event_poll = std::chrono::milliseconds(folder_board ? 1000 : 250);
  auto observe = [&](const nlohmann::json& event) {
    if (event.value("event", "") == "stage_done") metrics.record_stage(event);
    bell.ring();
  };

  HttpServer server(context);
  const int port = server.bind();

  std::unique_ptr<FolderWorkers> folder_workers;
  std::thread redis_worker;
  if (folder_board) {
    FolderWorkerOptions worker_options;
    worker_options.threads = options.workers;
    worker_options.sources = options.sources;
    worker_options.log = options.log;
    worker_options.observer = [&](const std::string&, const nlohmann::json& event) { observe(event); };
    worker_options.job_settled = [&] { bell.ring(); };
    folder_workers = std::make_unique<FolderWorkers>(settings, *store, *folder_board, worker_options);
  } else if (options.workers > 0) {
    auto worker_store = open_store(settings);
    std::unique_ptr<checkpoints::RedisRunStore> redis(dynamic_cast<checkpoints::RedisRunStore*>(worker_store.release()));
    WorkerOptions worker_options;
    worker_options.concurrency = options.workers;
    worker_options.drain_timeout = options.drain_timeout;
    worker_options.ttl = options.run_ttl;
    worker_options.sources = options.sources;
    worker_options.log = options.log;
    worker_options.progress = observe;
    // run_worker drains on the stop signal by itself, as `pipeline worker` does.
    redis_worker = std::thread([&settings, redis = std::move(redis), worker_options]() mutable {
      try {
        run_worker(settings, std::move(redis), worker_options);
      } catch (const std::exception& error) {
        if (worker_options.log) worker_options.log(fmt::format("worker: {}", error.what()));
      }
    });
  }

  // The signal handler only records the signal; this thread acts on it.
  std::atomic<bool> served{false};
  std::thread watcher([&] {
    while (!served) {
      if (util::received_stop_signal()) {
        context.stopping = true;
        say(options, "stopping: no new connections; the answers in flight finish, then the workers drain");
        server.stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  const std::string url = fmt::format("http://{}:{}", options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host, port);
  if (options.on_listening) options.on_listening(url);
  server.serve();
  served = true;
  context.stopping = true;
  watcher.join();
  if (folder_workers) folder_workers->drain(options.drain_timeout);
  if (redis_worker.joinable()) redis_worker.join();
  say(options, "stopped");
  return 0;
}

}  // namespace pipeline::service

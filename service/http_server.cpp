#include "service/http_server.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <regex>
#include <thread>

#include <fmt/format.h>

#include "lib/brand/brand.hpp"
#include "lib/util/error.hpp"
#include "lib/util/json_text.hpp"
#include "lib/util/text.hpp"
#include "service/bounded_http_server.hpp"
#include "service/embedded_assets.hpp"
#include "service/run_routes.hpp"

namespace pipeline::service {
namespace {

using util::ErrorKind;
using util::FatalError;

constexpr std::size_t k_max_brand_bytes = 1 << 20;
// A request line and its headers: a browser's stay far below it.
constexpr std::size_t k_max_request_head_bytes = 64 * 1024;
constexpr const char* k_page_policy =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

// A thread per connection, up to a limit; a connection past it waits in the
// accept loop for one to end, so a flood of slow clients cannot take every
// thread of the machine.
class ConnectionThreads final : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(std::size_t limit) : m_limit(limit) {}

  void enqueue(std::function<void()> task) override {
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [&] { return m_running < m_limit; });
    ++m_running;
    std::thread([this, task = std::move(task)] {
      task();
      std::lock_guard done(m_mutex);
      --m_running;
      m_changed.notify_all();
    }).detach();
  }

  void shutdown() override {
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [&] { return m_running == 0; });
  }

 private:
  const std::size_t m_limit;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::size_t m_running = 0;
};

std::string asset_type(std::string_view name) {
  auto ends = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".json")) return "application/json";
  return "application/octet-stream";
}

// The paths of the API and the methods each takes, for 405 answers.
const std::vector<std::pair<std::regex, std::string>>& known_paths() {
  static const std::vector<std::pair<std::regex, std::string>> paths{
      {std::regex(R"(/v1/runs)"), "GET, POST"},
      {std::regex(R"(/v1/runs/[^/]+)"), "GET"},
      {std::regex(R"(/v1/runs/[^/]+/(events|report\.html|report\.pdf|report\.md|opportunities\.json|stages/[1-5]\.json))"),
       "GET"},
      {std::regex(R"(/v1/runs/[^/]+/(cancel|retry))"), "POST"},
      {std::regex(R"(/v1/brands)"), "GET"},
      {std::regex(R"(/v1/brands/[^/]+)"), "GET, PUT"},
      {std::regex(R"(/(healthz|readyz|metrics|openapi\.json))"), "GET"},
  };
  return paths;
}

}  // namespace

struct HttpServer::Parts {
  ServeContext& context;
  BoundedHttpServer server{k_max_request_head_bytes};
  std::mutex runs_mutex;
  util::Clock::time_point runs_counted{};
  std::map<std::string, long long> runs_by_status;

  explicit Parts(ServeContext& serve) : context(serve) {}

  void install();
  void apply_cors(const httplib::Request& request, httplib::Response& response) const;
  void serve_asset(const std::string& name, httplib::Response& response) const;
  void brands(const httplib::Request& request, httplib::Response& response);
  void brand(const httplib::Request& request, httplib::Response& response);
  void put_brand(const httplib::Request& request, httplib::Response& response);
  void ready(httplib::Response& response);
  void metrics(const httplib::Request& request, httplib::Response& response);
  std::map<std::string, long long> count_runs();
};

void HttpServer::Parts::apply_cors(const httplib::Request& request, httplib::Response& response) const {
  const std::string origin = request.get_header_value("Origin");
  if (origin.empty()) return;
  const auto& allowed = context.options.cors_origins;
  if (std::find(allowed.begin(), allowed.end(), origin) == allowed.end()) return;
  response.set_header("Access-Control-Allow-Origin", origin);
  response.set_header("Vary", "Origin");
  response.set_header("Access-Control-Expose-Headers", "Location, Retry-After, Idempotent-Replayed");
}

void HttpServer::Parts::serve_asset(const std::string& name, httplib::Response& response) const {
  const auto content = find_asset(name);
  if (!content) {
    return send_problem(response, make_problem("not-found", fmt::format("there is no {}", util::escape_control(name))));
  }
  response.set_header("Content-Security-Policy", k_page_policy);
  response.set_header("Cache-Control", "no-cache");
  response.set_content(std::string(*content), asset_type(name));
}

void HttpServer::Parts::brands(const httplib::Request& request, httplib::Response& response) {
  if (!require_service(context, request, response)) return;
  try {
    const auto scan = brand::scan_brands(context.settings.brands.dirs);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& profile : listed_brands(context.settings.brands, context.settings.store_url, context.store, scan)) {
      list.push_back({{"id", profile.id}, {"name", profile.company_name}});
    }
    send_json(response, 200, {{"brands", list}});
  } catch (const FatalError& error) {
    send_problem(response, problem_from_error(util::fail(error.kind(), error.what())));
  }
}

void HttpServer::Parts::brand(const httplib::Request& request, httplib::Response& response) {
  if (!require_service(context, request, response)) return;
  const std::string id = request.matches[1];
  if (!brand::is_valid_brand_id(id)) {
    return send_problem(response, make_problem("not-found", fmt::format("there is no brand {}", util::escape_control(id))));
  }
  try {
    const auto profile = resolve_run_brand(context.settings.brands, context.settings.store_url, context.store, id);
    send_json(response, 200, profile.json);
  } catch (const FatalError& error) {
    send_problem(response, make_problem("not-found", error.what()));
  }
}

void HttpServer::Parts::put_brand(const httplib::Request& request, httplib::Response& response) {
  if (!require_service(context, request, response)) return;
  const std::string id = request.matches[1];
  if (!brand::is_valid_brand_id(id)) {
    return send_problem(response, make_problem("unprocessable", fmt::format("`{}` is not a brand id ([a-z0-9][a-z0-9-]*)",
                                                                            util::escape_control(id))));
  }
  if (request.body.size() > k_max_brand_bytes) {
    return send_problem(response, make_problem("payload-too-large", "a brand profile may be 1 MiB at most"));
  }
  auto json = util::parse_json(request.body);
  if (!json || !json->is_object()) {
    return send_problem(response, make_problem("invalid-request", "the body is not a JSON object"));
  }
  // research_file names a file on the server's disk: over HTTP the research comes inline.
  if (json->contains("research_file")) {
    return send_problem(response, make_problem("unprocessable", "`research_file` is not accepted over HTTP; put the "
                                                                "research inline in `research`"));
  }
  auto profile = brand::parse_brand(*json, "request body");
  if (!profile) return send_problem(response, make_problem("unprocessable", profile.error().message));
  if (profile->id != id) {
    return send_problem(response, make_problem("unprocessable", fmt::format("the profile's id is \"{}\", not \"{}\"",
                                                                            util::escape_control(profile->id), id)));
  }
  if (auto saved = context.store.save_brand(id, util::dump_json(profile->json, 2) + "\n"); !saved) {
    return send_problem(response, problem_from_error(saved.error()));
  }
  send_json(response, 200, {{"id", profile->id}, {"name", profile->company_name}});
}

void HttpServer::Parts::ready(httplib::Response& response) {
  if (context.stopping) return send_problem(response, make_problem("not-ready", "the server is stopping"));
  auto counts = context.board.counts();
  if (!counts) return send_problem(response, make_problem("not-ready", "the store cannot be reached: " + counts.error().message));
  if (counts->live_workers < 1) return send_problem(response, make_problem("not-ready", "no worker is alive to run jobs"));
  send_json(response, 200, {{"status", "ready"}, {"store", "ok"}, {"workers", counts->live_workers}});
}

std::map<std::string, long long> HttpServer::Parts::count_runs() {
  std::lock_guard lock(runs_mutex);
  // Reading every checkpoint is not free: a scrape every few seconds shares one count.
  if (util::Clock::now() - runs_counted < std::chrono::seconds(10)) return runs_by_status;
  std::map<std::string, long long> counted;
  for (const auto& id : context.store.list()) {
    auto state = context.store.read_checkpoint(id);
    if (state) ++counted[live_status(context.store, *state)];
  }
  runs_by_status = std::move(counted);
  runs_counted = util::Clock::now();
  return runs_by_status;
}

void HttpServer::Parts::metrics(const httplib::Request& request, httplib::Response& response) {
  if (!require_service(context, request, response)) return;
  auto counts = context.board.counts();
  if (!counts) return send_problem(response, problem_from_error(counts.error()));
  response.set_content(context.metrics.render(*counts, count_runs()), "text/plain; version=0.0.4; charset=utf-8");
}

void HttpServer::Parts::install() {
  server.new_task_queue = [this] { return new ConnectionThreads(context.options.max_connections); };
  // Slow clients are cut off; a body larger than an upload is refused unread.
  server.set_read_timeout(std::chrono::seconds(10));
  server.set_write_timeout(std::chrono::seconds(10));
  server.set_keep_alive_timeout(5);
  server.set_keep_alive_max_count(100);
  // Answers go out at once, not after the client's delayed acknowledgement (Nagle).
  server.set_tcp_nodelay(true);
  server.set_payload_max_length(context.options.max_upload_bytes + (1 << 20));
  server.set_pre_routing_handler([this](const httplib::Request& request, httplib::Response& response) {
    apply_cors(request, response);
    response.set_header("X-Content-Type-Options", "nosniff");
    response.set_header("Referrer-Policy", "no-referrer");
    if (request.path.rfind("/v1/", 0) == 0) response.set_header("Cache-Control", "no-store");
    if (request.method == "OPTIONS") {
      response.status = 204;
      response.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS");
      response.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, Last-Event-ID");
      response.set_header("Access-Control-Max-Age", "600");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_logger([this](const httplib::Request&, const httplib::Response& response) {
    context.metrics.count_response(response.status);
  });
  server.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& request, httplib::Response& response) {
    if (!response.body.empty() || response.content_provider_) return httplib::Server::HandlerResponse::Unhandled;
    if (response.status == 404) {
      for (const auto& [pattern, methods] : known_paths()) {
        if (!std::regex_match(request.path, pattern)) continue;
        response.set_header("Allow", methods);
        send_problem(response, make_problem("method-not-allowed", fmt::format("{} takes {}", request.path, methods)));
        return httplib::Server::HandlerResponse::Handled;
      }
      send_problem(response, make_problem("not-found", "there is nothing at " + util::escape_control(request.path)));
    } else if (response.status == 413) {
      send_problem(response, make_problem("payload-too-large", "the body is larger than this server takes"));
    } else if (response.status >= 400 && response.status < 500) {
      const int status = response.status;
      const bool unsized = (request.method == "POST" || request.method == "PUT") && !request.has_header("Content-Length") &&
                           request.get_header_value("Transfer-Encoding").find("chunked") == std::string::npos;
      send_problem(response, make_problem("invalid-request",
                                          unsized ? std::string("a POST or PUT needs a Content-Length (0 for no body) or a "
                                                                "chunked body")
                                                  : fmt::format("the request could not be read ({})", status)));
      response.status = status;
    } else {
      send_problem(response, make_problem("internal", "the server failed"));
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_exception_handler([](const httplib::Request&, httplib::Response& response, std::exception_ptr thrown) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(thrown);
    } catch (const std::exception& error) {
      what = error.what();
    } catch (...) {
    }
    send_problem(response, make_problem("internal", what));
  });

  server.Get("/", [this](const httplib::Request&, httplib::Response& response) { serve_asset("index.html", response); });
  server.Get(R"(/([A-Za-z0-9_-]+\.(js|css|svg|png|json)))", [this](const httplib::Request& request, httplib::Response& response) {
    serve_asset(request.matches[1], response);
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    send_json(response, 200, {{"status", "ok"}});
  });
  server.Get("/readyz", [this](const httplib::Request&, httplib::Response& response) { ready(response); });
  server.Get("/metrics", [this](const httplib::Request& request, httplib::Response& response) { metrics(request, response); });
  server.Get("/v1/brands", [this](const httplib::Request& request, httplib::Response& response) { brands(request, response); });
  server.Get(R"(/v1/brands/([^/]+))", [this](const httplib::Request& request, httplib::Response& response) {
    brand(request, response);
  });
  server.Put(R"(/v1/brands/([^/]+))", [this](const httplib::Request& request, httplib::Response& response) {
    put_brand(request, response);
  });
  install_run_routes(server, context);
}

HttpServer::HttpServer(ServeContext& context) : m_parts(std::make_unique<Parts>(context)) { m_parts->install(); }

HttpServer::~HttpServer() = default;

int HttpServer::bind() {
  const auto& options = m_parts->context.options;
  int port = options.port;
  if (port == 0) {
    port = m_parts->server.bind_to_any_port(options.host);
    if (port < 0) port = 0;
  } else if (!m_parts->server.bind_to_port(options.host, port)) {
    port = 0;
  }
  if (port == 0) {
    throw FatalError(ErrorKind::usage, fmt::format("cannot listen on {}:{}: the address is taken or not this "
                                                   "machine's", options.host, options.port));
  }
  return port;
}

void HttpServer::serve() { m_parts->server.listen_after_bind(); }

void HttpServer::stop() { m_parts->server.stop(); }

}  // namespace pipeline::service

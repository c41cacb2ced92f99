#include "tests/support/http_file_server.hpp"

#include <httplib.h>

#include <chrono>
#include <stdexcept>

namespace pipeline::testing {

HttpFileServer::HttpFileServer() : m_server(std::make_unique<httplib::Server>()) {
  m_server->Get(".*", [this](const httplib::Request& request, httplib::Response& response) {
    Route route;
    bool found = false;
    {
      std::lock_guard lock(m_mutex);
      ++m_requests;
      auto it = m_routes.find(request.path);
      if (it != m_routes.end()) {
        route = it->second;
        found = true;
      }
    }
    if (!found) {
      response.status = 404;
      response.set_content("not found", "text/plain");
      return;
    }
    switch (route.kind) {
      case Route::Kind::body:
        response.set_content(route.content, "application/pdf");
        break;
      case Route::Kind::chunked:
        response.set_chunked_content_provider(
            "application/pdf", [content = route.content](std::size_t offset, httplib::DataSink& sink) {
              // Small chunks, so that a size cap is hit while the body streams.
              const std::size_t size = std::min<std::size_t>(content.size() - offset, 4096);
              if (size > 0) sink.write(content.data() + offset, size);
              if (offset + size >= content.size()) sink.done();
              return true;
            });
        break;
      case Route::Kind::redirect:
        response.set_redirect(route.content);
        break;
    }
  });
  m_port = m_server->bind_to_any_port("127.0.0.1");
  if (m_port <= 0) throw std::runtime_error("cannot bind a test HTTP server on 127.0.0.1");
  // The socket listens from here on, so clients may connect before the thread accepts.
  m_thread = std::thread([this] { m_server->listen_after_bind(); });
  // stop() only works on a running server, so wait until it runs.
  for (int i = 0; i < 5000 && !m_server->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

HttpFileServer::~HttpFileServer() {
  m_server->stop();
  if (m_thread.joinable()) m_thread.join();
}

std::string HttpFileServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(m_port) + path;
}

void HttpFileServer::serve(const std::string& path, const std::string& body) {
  std::lock_guard lock(m_mutex);
  m_routes[path] = Route{Route::Kind::body, body};
}

void HttpFileServer::serve_chunked(const std::string& path, const std::string& body) {
  std::lock_guard lock(m_mutex);
  m_routes[path] = Route{Route::Kind::chunked, body};
}

void HttpFileServer::redirect(const std::string& path, const std::string& location) {
  std::lock_guard lock(m_mutex);
  m_routes[path] = Route{Route::Kind::redirect, location};
}

int HttpFileServer::requests() const {
  std::lock_guard lock(m_mutex);
  return m_requests;
}

}  // namespace pipeline::testing

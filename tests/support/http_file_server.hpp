#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace pipeline::testing {

// A real HTTP server on 127.0.0.1 and a free port for download tests: it
// serves fixed files, redirects and error statuses set up by the test.
class HttpFileServer {
 public:
  HttpFileServer();
  ~HttpFileServer();
  HttpFileServer(const HttpFileServer&) = delete;
  HttpFileServer& operator=(const HttpFileServer&) = delete;

  // "http://127.0.0.1:<port>" followed by `path`.
  std::string url(const std::string& path) const;
  int port() const { return m_port; }

  // Serves `body` at `path` with a Content-Length.
  void serve(const std::string& path, const std::string& body);
  // Serves `body` at `path` chunked, without a Content-Length.
  void serve_chunked(const std::string& path, const std::string& body);
  // Answers `path` with a 302 to `location` (a path on this server or any URL).
  void redirect(const std::string& path, const std::string& location);
  // How many requests reached the server.
  int requests() const;

 private:
  struct Route {
    enum class Kind { body, chunked, redirect } kind = Kind::body;
    std::string content;
  };
  std::unique_ptr<httplib::Server> m_server;
  std::thread m_thread;
  int m_port = 0;
  mutable std::mutex m_mutex;
  std::map<std::string, Route> m_routes;
  int m_requests = 0;
};

}  // namespace pipeline::testing

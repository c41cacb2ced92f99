#pragma once

// The HTTP side of `pipeline serve`: cpp-httplib (Debian's libcpp-httplib)
// serving the page, the /v1 API, health, metrics and the OpenAPI
// description, each connection on a thread of its own up to a limit, so
// that long event streams never hold up other requests.

#include <memory>

#include "service/http_exchange.hpp"

namespace pipeline::service {

class HttpServer {
 public:
  explicit HttpServer(ServeContext& context);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket; returns the port. Throws FatalError when
  // the address cannot be used.
  int bind();
  // Accepts and answers until stop(); then waits for the answers in flight.
  void serve();
  // Stops accepting; thread-safe, for a signal's watcher.
  void stop();

 private:
  struct Parts;
  std::unique_ptr<Parts> m_parts;
};

}  // namespace pipeline::service

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include <httplib.h>

#include "service/bounded_http_server.hpp"

using pipeline::service::BoundedHttpServer;

namespace {

// A BoundedHttpServer on a free loopback port, answering GET /hello, served
// from a thread of its own until the test ends.
struct BoundedServerRun {
  BoundedHttpServer server{4096};
  int port = 0;
  std::thread thread;
  BoundedServerRun() {
    server.Get("/hello", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content("hello " + request.get_header_value("X-Name"), "text/plain");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~BoundedServerRun() {
    server.stop();
    thread.join();
  }
};

// Sends `request` raw on a new connection and reads what comes back until the server closes it or 2 s pass.
std::string bounded_exchange(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  timeval timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string answer;
  char buffer[4096];
  for (ssize_t got; (got = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) answer.append(buffer, static_cast<size_t>(got));
  ::close(fd);
  return answer;
}

}  // namespace

TEST_CASE("a bounded server answers requests whose head fits, several on one connection") {
  BoundedServerRun run;
  httplib::Client client("127.0.0.1", run.port);
  client.set_keep_alive(true);
  for (int i = 0; i < 3; ++i) {
    auto answer = client.Get("/hello", {{"X-Name", "ada"}});
    REQUIRE(answer);
    CHECK(answer->status == 200);
    CHECK(answer->body == "hello ada");
  }
  // Two requests in one write: the second is served from what the first read left.
  const auto two = bounded_exchange(run.port, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Name: one\r\n\r\n"
                                              "GET /hello HTTP/1.1\r\nHost: x\r\nX-Name: two\r\nConnection: close\r\n\r\n");
  CHECK(two.find("hello one") != std::string::npos);
  CHECK(two.find("hello two") != std::string::npos);
}

TEST_CASE("a bounded server refuses a head of many short headers past its limit, and goes on serving") {
  BoundedServerRun run;
  std::string request = "GET /hello HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 100; ++i) request += "X-Fill-" + std::to_string(i) + ": " + std::string(100, 'f') + "\r\n";
  request += "\r\n";
  REQUIRE(request.size() > 4096);
  const auto answer = bounded_exchange(run.port, request);
  CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(answer.find("hello") == std::string::npos);
  // A head just inside the limit is read whole.
  std::string fits = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Name: edge\r\nConnection: close\r\nX-Pad: ";
  fits += std::string(4096 - fits.size() - 4, 'p') + "\r\n\r\n";
  REQUIRE(fits.size() == 4096);
  CHECK(bounded_exchange(run.port, fits).find("hello edge") != std::string::npos);
  httplib::Client client("127.0.0.1", run.port);
  CHECK(client.Get("/hello")->status == 200);
}

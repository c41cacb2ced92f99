#include "tests/support/proxy_recorder.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace pipeline::testing {
namespace {

// The request's first line, read for at most a second.
std::string first_request_line(int client) {
  timeval wait{1, 0};
  ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  std::string line;
  char c = 0;
  while (line.size() < 2048 && ::recv(client, &c, 1, 0) == 1 && c != '\n') line += c;
  return line;
}

// "CONNECT host:443 HTTP/1.1" or "GET http://host:80/path HTTP/1.1" -> "host".
std::string proxied_host(const std::string& line) {
  const auto space = line.find(' ');
  if (space == std::string::npos) return "?";
  std::string target = line.substr(space + 1, line.find(' ', space + 1) - space - 1);
  if (const auto scheme = target.find("://"); scheme != std::string::npos) target = target.substr(scheme + 3);
  target = target.substr(0, target.find('/'));
  if (!target.empty() && target[0] == '[') return target.substr(0, target.find(']') + 1);
  target = target.substr(0, target.find(':'));
  return target.empty() ? "?" : target;
}

}  // namespace

ProxyRecorder::ProxyRecorder() {
  m_socket = ::socket(AF_INET, SOCK_STREAM, 0);
  if (m_socket < 0) throw std::runtime_error("proxy recorder: no socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (::bind(m_socket, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || ::listen(m_socket, 64) != 0 ||
      ::getsockname(m_socket, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(m_socket);
    throw std::runtime_error("proxy recorder: cannot listen on 127.0.0.1");
  }
  m_port = ntohs(address.sin_port);
  m_thread = std::thread([this] {
    while (!m_stop.load()) {
      pollfd waiting{m_socket, POLLIN, 0};
      if (::poll(&waiting, 1, 20) <= 0) continue;
      const int client = ::accept(m_socket, nullptr, nullptr);
      if (client < 0) continue;
      const std::string host = proxied_host(first_request_line(client));
      ::close(client);
      std::lock_guard lock(m_mutex);
      m_hosts.push_back(host);
    }
  });
}

ProxyRecorder::~ProxyRecorder() {
  m_stop = true;
  if (m_thread.joinable()) m_thread.join();
  ::close(m_socket);
}

std::vector<std::string> ProxyRecorder::hosts() const {
  std::lock_guard lock(m_mutex);
  return m_hosts;
}

}  // namespace pipeline::testing

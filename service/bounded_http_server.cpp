#include "service/bounded_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace pipeline::service {
namespace {

// Waits up to the time given for `events` on the socket; true when they came.
bool wait_for(int fd, short events, time_t seconds, time_t microseconds) {
  pollfd watched{fd, events, 0};
  const int timeout_ms = static_cast<int>(seconds * 1000 + microseconds / 1000);
  int ready;
  do {
    ready = ::poll(&watched, 1, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  return ready > 0;
}

void address_text(const sockaddr_storage& address, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    port = ntohs(v4->sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    port = ntohs(v6->sin6_port);
  }
  ip = text;
}

// A connection's socket as cpp-httplib reads and writes it, buffered, with a
// budget for the head of each request: once a request's head has taken
// `max_head` bytes without its blank line, reads fail.
class HeadBoundedStream final : public httplib::Stream {
 public:
  HeadBoundedStream(int fd, std::size_t max_head, time_t read_s, time_t read_us, time_t write_s, time_t write_us)
      : m_fd(fd), m_max_head(max_head), m_read_s(read_s), m_read_us(read_us), m_write_s(write_s), m_write_us(write_us) {}

  // A new request starts: its head is counted from zero.
  void start_request() {
    m_head_bytes = 0;
    m_head_done = false;
    m_matched = 0;
  }
  bool has_buffered() const { return m_begin < m_end; }

  bool is_readable() const override { return has_buffered() || wait_for(m_fd, POLLIN, m_read_s, m_read_us); }
  // Writable, and not closed by the client: a stream that only writes (events) notices a gone client here.
  bool is_writable() const override { return wait_for(m_fd, POLLOUT, m_write_s, m_write_us) && client_alive(); }

  ssize_t read(char* ptr, size_t size) override {
    if (!m_head_done && m_head_bytes >= m_max_head) return -1;
    if (!has_buffered()) {
      if (!wait_for(m_fd, POLLIN, m_read_s, m_read_us)) return -1;
      ssize_t got;
      do {
        got = ::recv(m_fd, m_buffer.data(), m_buffer.size(), 0);
      } while (got < 0 && errno == EINTR);
      if (got <= 0) return got;
      m_begin = 0;
      m_end = static_cast<std::size_t>(got);
    }
    std::size_t count = std::min(size, m_end - m_begin);
    if (!m_head_done) count = std::min(count, m_max_head - m_head_bytes);
    std::copy_n(m_buffer.data() + m_begin, count, ptr);
    m_begin += count;
    if (!m_head_done) count_head(ptr, count);
    return static_cast<ssize_t>(count);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t sent;
    do {
      sent = ::send(m_fd, ptr, size, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent;
  }

  bool client_alive() const {
    if (has_buffered() || !wait_for(m_fd, POLLIN, 0, 0)) return true;
    char byte;
    const ssize_t peeked = ::recv(m_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return peeked > 0 || (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getpeername(m_fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) address_text(address, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getsockname(m_fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) address_text(address, ip, port);
  }
  socket_t socket() const override { return m_fd; }

 private:
  // Counts head bytes up to and including the blank line that ends the head.
  void count_head(const char* bytes, std::size_t count) {
    static constexpr char k_end[] = "\r\n\r\n";
    for (std::size_t i = 0; i < count && !m_head_done; ++i) {
      ++m_head_bytes;
      m_matched = bytes[i] == k_end[m_matched] ? m_matched + 1 : (bytes[i] == '\r' ? 1 : 0);
      if (m_matched == 4) m_head_done = true;
    }
  }

  const int m_fd;
  const std::size_t m_max_head;
  const time_t m_read_s, m_read_us, m_write_s, m_write_us;
  std::array<char, 4096> m_buffer{};
  std::size_t m_begin = 0;
  std::size_t m_end = 0;
  std::size_t m_head_bytes = 0;
  bool m_head_done = false;
  std::size_t m_matched = 0;
};

}  // namespace

bool BoundedHttpServer::process_and_close_socket(socket_t sock) {
  HeadBoundedStream stream(sock, m_max_head_bytes, read_timeout_sec_, read_timeout_usec_, write_timeout_sec_,
                           write_timeout_usec_);
  bool served = false;
  // As cpp-httplib keeps a connection alive: up to keep_alive_max_count_
  // requests, each within keep_alive_timeout_sec_ of the one before.
  for (std::size_t left = keep_alive_max_count_; left > 0 && is_running(); --left) {
    if (!stream.has_buffered() && !wait_for(sock, POLLIN, keep_alive_timeout_sec_, 0)) break;
    stream.start_request();
    bool closed = false;
    served = process_request(stream, left == 1, closed, [](httplib::Request&) {});
    if (!served || closed) break;
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return served;
}

}  // namespace pipeline::service

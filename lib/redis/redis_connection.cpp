#include "lib/redis/redis_connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/redis/cluster_router.hpp"
#include "lib/util/text.hpp"

namespace pipeline::redis {
namespace {

using Clock = std::chrono::steady_clock;
using util::ErrorKind;

util::Error connection_error(const std::string& where, const std::string& what) {
  return util::fail(ErrorKind::transient, fmt::format("Redis at {}: {}", where, what), k_connection_error_code);
}

// The last OpenSSL error as text, or `fallback` when the queue is empty.
std::string openssl_error_text(const std::string& fallback) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return buffer;
}

bool is_ip_address(const std::string& host) {
  in6_addr v6{};
  in_addr v4{};
  return ::inet_pton(AF_INET, host.c_str(), &v4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

int milliseconds_until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

// Waits until the descriptor is ready for `events`; false at the deadline.
bool wait_ready(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd entry{fd, events, 0};
    const int ready = ::poll(&entry, 1, milliseconds_until(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return false;
  }
}

// Blocks SIGPIPE in this thread while OpenSSL writes to a socket whose peer
// may have gone, and swallows a SIGPIPE it raised: the write fails instead.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&m_set);
    sigaddset(&m_set, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    m_was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &m_set, &m_old);
  }
  ~SigpipeGuard() {
    if (!m_was_pending) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{0, 0};
        while (sigtimedwait(&m_set, nullptr, &zero) < 0 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t m_set{};
  sigset_t m_old{};
  bool m_was_pending = false;
};

Reply to_reply(const redisReply* raw) {
  Reply reply;
  switch (raw->type) {
    case REDIS_REPLY_STRING: reply.type = Reply::Type::string; break;
    case REDIS_REPLY_STATUS: reply.type = Reply::Type::status; break;
    case REDIS_REPLY_ERROR: reply.type = Reply::Type::error; break;
    case REDIS_REPLY_INTEGER: reply.type = Reply::Type::integer; break;
    case REDIS_REPLY_ARRAY: reply.type = Reply::Type::array; break;
    default: reply.type = Reply::Type::nil; break;
  }
  if (reply.type == Reply::Type::integer) reply.integer = raw->integer;
  if ((reply.type == Reply::Type::string || reply.type == Reply::Type::status || reply.type == Reply::Type::error) &&
      raw->str) {
    reply.text.assign(raw->str, raw->len);
  }
  if (reply.type == Reply::Type::array) {
    reply.elements.reserve(raw->elements);
    for (std::size_t i = 0; i < raw->elements; ++i) reply.elements.push_back(to_reply(raw->element[i]));
  }
  return reply;
}

// The wire form of a command, as hiredis encodes it.
std::string encode_command(const Command& command) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& part : command) {
    argv.push_back(part.data());
    lengths.push_back(part.size());
  }
  char* target = nullptr;
  const int length = redisFormatCommandArgv(&target, static_cast<int>(argv.size()), argv.data(), lengths.data());
  if (length < 0 || !target) throw std::bad_alloc();
  std::string encoded(target, static_cast<std::size_t>(length));
  redisFreeCommand(target);
  return encoded;
}

}  // namespace

std::string Reply::error_code() const {
  if (type != Type::error) return {};
  return text.substr(0, text.find(' '));
}

// The open socket with its TLS session, if any, and the reply reader.
struct Connection::Socket {
  int fd = -1;
  SSL* ssl = nullptr;
  redisReader* reader = nullptr;

  ~Socket() {
    if (ssl) {
      SSL_free(ssl);
    }
    if (fd >= 0) ::close(fd);
    if (reader) redisReaderFree(reader);
  }

  // Writes all of `data`; false on an error or at the deadline.
  bool write_all(std::string_view data, Clock::time_point deadline) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      if (ssl) {
        SigpipeGuard guard;
        ERR_clear_error();
        std::size_t written = 0;
        if (SSL_write_ex(ssl, data.data() + sent, data.size() - sent, &written) == 1) {
          sent += written;
          continue;
        }
        const int error = SSL_get_error(ssl, 0);
        if (error == SSL_ERROR_WANT_WRITE && wait_ready(fd, POLLOUT, deadline)) continue;
        if (error == SSL_ERROR_WANT_READ && wait_ready(fd, POLLIN, deadline)) continue;
        return false;
      }
      const ssize_t written = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (written > 0) {
        sent += static_cast<std::size_t>(written);
        continue;
      }
      if (written < 0 && errno == EINTR) continue;
      if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_ready(fd, POLLOUT, deadline)) continue;
      return false;
    }
    return true;
  }

  // Reads what is there (waiting until the deadline for something): the
  // bytes read, 0 at the end of the stream, -1 on an error or at the deadline.
  ssize_t read_some(char* buffer, std::size_t size, Clock::time_point deadline) {
    while (true) {
      if (ssl) {
        ERR_clear_error();
        std::size_t got = 0;
        if (SSL_read_ex(ssl, buffer, size, &got) == 1) return static_cast<ssize_t>(got);
        const int error = SSL_get_error(ssl, 0);
        if (error == SSL_ERROR_ZERO_RETURN) return 0;
        if (error == SSL_ERROR_WANT_READ && wait_ready(fd, POLLIN, deadline)) continue;
        if (error == SSL_ERROR_WANT_WRITE && wait_ready(fd, POLLOUT, deadline)) continue;
        return -1;
      }
      const ssize_t got = ::recv(fd, buffer, size, 0);
      if (got >= 0) return got;
      if (errno == EINTR) continue;
      if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_ready(fd, POLLIN, deadline)) continue;
      return -1;
    }
  }
};

Connection::Connection(ConnectOptions options) : m_options(std::move(options)) {
  if (m_options.url.cluster) m_router = std::make_unique<ClusterRouter>(m_options);
}

Connection::~Connection() = default;

bool Connection::connected() const { return m_router ? m_router->connected() : m_socket != nullptr; }

void Connection::close() {
  m_socket.reset();
  if (m_router) m_router->close();
}

util::Expected<void> Connection::connect() {
  if (m_router) return m_router->connect();
  if (m_socket && !closed_by_peer()) return {};
  m_socket.reset();
  if (auto opened = open_socket(); !opened) {
    m_socket.reset();
    return opened.error();
  }
  if (auto logged_in = log_in(); !logged_in) {
    m_socket.reset();
    return logged_in.error();
  }
  return {};
}

bool Connection::closed_by_peer() {
  pollfd entry{m_socket->fd, POLLIN, 0};
  const int ready = ::poll(&entry, 1, 0);
  if (ready == 0) return false;
  if (ready < 0 || (entry.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return true;
  if (m_socket->ssl) {
    // TLS 1.3 session tickets arrive after the handshake; only application
    // data or the end of the stream mean the connection is unusable.
    ERR_clear_error();
    char byte = 0;
    std::size_t got = 0;
    if (SSL_read_ex(m_socket->ssl, &byte, 1, &got) == 1) return true;
    return SSL_get_error(m_socket->ssl, 0) != SSL_ERROR_WANT_READ;
  }
  char byte = 0;
  const ssize_t got = ::recv(m_socket->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return got >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

util::Expected<void> Connection::open_socket() {
  const auto& url = m_options.url;
  const std::string where = url.masked();
  const auto deadline = Clock::now() + m_options.connect_timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(url.port);
  const int resolved = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &found);
  if (resolved != 0) {
    return connection_error(where, fmt::format("cannot resolve host {}: {}", url.host, ::gai_strerror(resolved)));
  }
  auto socket = std::make_unique<Socket>();
  std::string last_error = "no address";
  for (addrinfo* address = found; address; address = address->ai_next) {
    const int fd = ::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            address->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int result = ::connect(fd, address->ai_addr, address->ai_addrlen);
    if (result != 0 && errno == EINPROGRESS) {
      if (wait_ready(fd, POLLOUT, deadline)) {
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
        result = error == 0 ? 0 : -1;
        errno = error;
      } else {
        errno = ETIMEDOUT;
      }
    }
    if (result == 0) {
      socket->fd = fd;
      break;
    }
    last_error = errno == ETIMEDOUT ? fmt::format("no connection within {} ms", m_options.connect_timeout.count())
                                    : std::string(std::strerror(errno));
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (socket->fd < 0) return connection_error(where, "cannot connect: " + last_error);
  const int one = 1;
  ::setsockopt(socket->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  if (url.tls) {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    if (!context) return connection_error(where, "cannot set up TLS: " + openssl_error_text("out of memory"));
    SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION);
    if (!m_options.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(context.get(), m_options.ca_file.c_str(), nullptr) != 1) {
        return util::fail(ErrorKind::bad_input,
                          fmt::format("cannot read the CA certificates in {} (--redis-ca): {}", m_options.ca_file,
                                      openssl_error_text("not a PEM file")));
      }
    } else if (SSL_CTX_set_default_verify_paths(context.get()) != 1) {
      return connection_error(where, "cannot load the system's CA certificates: " + openssl_error_text("unknown"));
    }
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
    socket->ssl = SSL_new(context.get());
    if (!socket->ssl) return connection_error(where, "cannot set up TLS: " + openssl_error_text("out of memory"));
    SSL_set_fd(socket->ssl, socket->fd);
    SSL_set_mode(socket->ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    const std::string& name = m_options.tls_name.empty() ? url.host : m_options.tls_name;
    if (is_ip_address(name)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(socket->ssl), name.c_str());
    } else {
      // SNI, so that a shared front (Upstash, a proxy) picks the right
      // certificate, and the name the certificate must carry.
      SSL_set_tlsext_host_name(socket->ssl, name.c_str());
      SSL_set1_host(socket->ssl, name.c_str());
    }
    while (true) {
      ERR_clear_error();
      const int result = SSL_connect(socket->ssl);
      if (result == 1) break;
      const int error = SSL_get_error(socket->ssl, result);
      if (error == SSL_ERROR_WANT_READ && wait_ready(socket->fd, POLLIN, deadline)) continue;
      if (error == SSL_ERROR_WANT_WRITE && wait_ready(socket->fd, POLLOUT, deadline)) continue;
      const long verified = SSL_get_verify_result(socket->ssl);
      if (verified != X509_V_OK) {
        return util::fail(ErrorKind::bad_input,
                          fmt::format("Redis at {}: the server's TLS certificate is not trusted: {} (for a private "
                                      "CA, give its certificate with --redis-ca FILE)",
                                      where, X509_verify_cert_error_string(verified)),
                          "redis_tls_verify");
      }
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        return connection_error(where, fmt::format("no TLS handshake within {} ms", m_options.connect_timeout.count()));
      }
      return connection_error(where, "TLS handshake failed: " + openssl_error_text("the server closed the connection"));
    }
  }
  socket->reader = redisReaderCreate();
  if (!socket->reader) throw std::bad_alloc();
  m_socket = std::move(socket);
  return {};
}

util::Expected<void> Connection::log_in() {
  const auto& url = m_options.url;
  std::vector<Command> commands;
  if (!url.password.empty()) {
    commands.push_back(url.user.empty() ? Command{"AUTH", url.password} : Command{"AUTH", url.user, url.password});
  }
  if (url.db != 0) commands.push_back({"SELECT", std::to_string(url.db)});
  if (commands.empty()) return {};
  auto replies = exchange(commands);
  if (!replies) return replies.error();
  std::size_t index = 0;
  if (!url.password.empty()) {
    const Reply& auth = (*replies)[index++];
    if (auth.is_error()) {
      return util::fail(ErrorKind::bad_input, fmt::format("Redis at {} refused the login: {}", where(), auth.text),
                        "redis_auth");
    }
  }
  if (url.db != 0 && (*replies)[index].is_error()) {
    return util::fail(ErrorKind::bad_input,
                      fmt::format("Redis at {} has no database {}: {}", where(), url.db, (*replies)[index].text));
  }
  return {};
}

util::Expected<Reply> Connection::command(const Command& command) {
  auto replies = pipeline({command});
  if (!replies) return replies.error();
  return std::move(replies->front());
}

util::Expected<std::vector<Reply>> Connection::pipeline(const std::vector<Command>& commands) {
  if (m_router) return m_router->pipeline(commands);
  if (auto connected = connect(); !connected) return connected.error();
  auto replies = exchange(commands);
  if (!replies) m_socket.reset();
  return replies;
}

util::Expected<std::vector<std::string>> Connection::scan_keys(const std::string& pattern, int count) {
  if (m_router) return m_router->scan_keys(pattern, count);
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    auto page = command({"SCAN", cursor, "MATCH", pattern, "COUNT", std::to_string(count)});
    if (!page) return page.error();
    if (page->is_error()) return reply_error(*page, "listing keys", where());
    if (page->elements.size() < 2) break;
    cursor = page->elements[0].text;
    for (const auto& key : page->elements[1].elements) keys.push_back(key.text);
  } while (cursor != "0");
  return keys;
}

util::Expected<std::vector<Reply>> Connection::exchange(const std::vector<Command>& commands) {
  const auto deadline = Clock::now() + m_options.io_timeout;
  std::string wire;
  for (const auto& command : commands) wire += encode_command(command);
  if (!m_socket->write_all(wire, deadline)) {
    const int error = errno;
    return connection_error(where(), Clock::now() >= deadline
                                         ? fmt::format("no answer within {} ms", m_options.io_timeout.count())
                                         : fmt::format("the connection broke while sending ({})", std::strerror(error)));
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  char buffer[16384];
  while (replies.size() < commands.size()) {
    void* raw = nullptr;
    if (redisReaderGetReply(m_socket->reader, &raw) != REDIS_OK) {
      return connection_error(where(), std::string("unreadable reply: ") + m_socket->reader->errstr);
    }
    if (raw) {
      replies.push_back(to_reply(static_cast<redisReply*>(raw)));
      freeReplyObject(raw);
      continue;
    }
    const ssize_t got = m_socket->read_some(buffer, sizeof buffer, deadline);
    if (got == 0) return connection_error(where(), "the server closed the connection");
    if (got < 0) {
      return connection_error(where(), Clock::now() >= deadline
                                           ? fmt::format("no answer within {} ms", m_options.io_timeout.count())
                                           : "the connection broke while reading");
    }
    if (redisReaderFeed(m_socket->reader, buffer, static_cast<std::size_t>(got)) != REDIS_OK) {
      return connection_error(where(), std::string("unreadable reply: ") + m_socket->reader->errstr);
    }
  }
  return replies;
}

util::Error reply_error(const Reply& reply, const std::string& what, const std::string& where) {
  static const char* const transient_codes[] = {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "READONLY", "OOM",
                                                "CLUSTERDOWN"};
  static const char* const login_codes[] = {"NOAUTH", "WRONGPASS", "NOPERM"};
  const std::string code = reply.error_code();
  const std::string message = fmt::format("{}: Redis at {} answered: {}", what, where, reply.text);
  for (const char* transient : transient_codes) {
    if (code == transient) return util::fail(ErrorKind::transient, message, "redis_" + util::to_lower(code));
  }
  for (const char* login : login_codes) {
    if (code == login) return util::fail(ErrorKind::bad_input, message, "redis_auth");
  }
  // A key of another type than ours holds data we did not write: like a
  // corrupt file, that is bad input, not a failure of the program.
  if (code == "WRONGTYPE") return util::fail(ErrorKind::bad_input, message, "redis_wrongtype");
  return util::fail(ErrorKind::failed, message, "redis_error");
}

util::Expected<Reply> expect_success(util::Expected<Reply> reply, const std::string& what, const std::string& where) {
  if (!reply) return reply.error();
  if (reply->is_error()) return reply_error(*reply, what, where);
  return reply;
}

}  // namespace pipeline::redis

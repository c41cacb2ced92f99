#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "lib/redis/redis_url.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::redis {

// One reply of a Redis server, as a value. An error reply ("-ERR ...") is a
// Reply too: the command reached the server, which refused it.
struct Reply {
  enum class Type { nil, integer, string, status, error, array };
  Type type = Type::nil;
  long long integer = 0;        // Type::integer
  std::string text;             // Type::string, status and error
  std::vector<Reply> elements;  // Type::array

  bool is_nil() const { return type == Type::nil; }
  bool is_error() const { return type == Type::error; }
  bool is_string() const { return type == Type::string; }
  bool is_integer() const { return type == Type::integer; }
  bool is_array() const { return type == Type::array; }
  // True for the status reply "OK".
  bool is_ok() const { return type == Type::status && text == "OK"; }
  // The first word of an error reply: "NOSCRIPT", "WRONGPASS", "ERR"...
  std::string error_code() const;
};

// A command and its arguments, each sent as a binary-safe bulk string.
using Command = std::vector<std::string>;

// How to reach and log in to the server.
struct ConnectOptions {
  RedisUrl url;
  // A PEM file of the CAs that may sign the server's certificate (a private
  // CA); empty: the system's CAs. Only for rediss://.
  std::string ca_file;
  // The name the server's certificate must carry, also sent as SNI; empty:
  // the URL's host. A cluster's nodes announced by address are checked
  // against the name of the node the URL gave (cluster_router.hpp).
  std::string tls_name;
  std::chrono::milliseconds connect_timeout{5000};  // TCP connect and TLS handshake
  std::chrono::milliseconds io_timeout{30000};      // one command or pipeline, send to last reply
};

// The error code of connection failures (ErrorKind::transient): the server
// could not be reached, or the connection broke mid-command.
inline constexpr const char* k_connection_error_code = "redis_connection";

// A connection to one Redis server over a socket of our own: plain TCP, or
// TLS through OpenSSL with SNI and verification of the certificate and of
// the host name against the system's CAs or ConnectOptions::ca_file. hiredis
// only encodes the commands and decodes the replies. Connects on first use
// and again after the connection was lost: AUTH, then SELECT when the URL
// names a database other than 0. Not thread-safe: one user at a time.
//
// With a cluster URL (?cluster=1) the same calls reach a Redis Cluster: each
// command goes to the master of its key's slot (ClusterRouter).
//
// Failures: an unreachable server, a broken connection and a timeout are
// transient (exit 75; code k_connection_error_code), and the connection is
// closed so that the next command reconnects; a refused login, an untrusted
// certificate and an unreadable CA file are bad_input. No message ever holds
// the password: the URL appears masked.
class ClusterRouter;

class Connection {
 public:
  explicit Connection(ConnectOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects and logs in unless connected already.
  util::Expected<void> connect();
  bool connected() const;
  void close();

  // Sends one command and reads its reply.
  util::Expected<Reply> command(const Command& command);
  // Sends every command at once, then reads their replies, in order. In a
  // cluster, the commands of each node are sent at once.
  util::Expected<std::vector<Reply>> pipeline(const std::vector<Command>& commands);
  // Every key matching the glob `pattern` (SCAN, `count` keys a step); in a
  // cluster, on every master.
  util::Expected<std::vector<std::string>> scan_keys(const std::string& pattern, int count = 1000);

  // True for a cluster URL.
  bool cluster() const { return m_options.url.cluster; }

  const ConnectOptions& options() const { return m_options; }
  // The masked URL, for messages.
  std::string where() const { return m_options.url.masked(); }

 private:
  struct Socket;
  util::Expected<void> open_socket();
  util::Expected<void> log_in();
  util::Expected<std::vector<Reply>> exchange(const std::vector<Command>& commands);
  // True when a connection left idle was closed by the server meanwhile.
  bool closed_by_peer();

  ConnectOptions m_options;
  std::unique_ptr<Socket> m_socket;
  std::unique_ptr<ClusterRouter> m_router;  // cluster URLs only
};

// The util::Error for an error reply of `what` ("saving run x"): transient
// for the replies a server gives while it cannot serve for a moment
// (LOADING, BUSY, TRYAGAIN, MASTERDOWN, READONLY, OOM, CLUSTERDOWN), bad_input
// for a refused login (NOAUTH, WRONGPASS, NOPERM) and for a key of the wrong
// type (WRONGTYPE: data we did not write), failed otherwise.
util::Error reply_error(const Reply& reply, const std::string& what, const std::string& where);

// The reply, or its error as reply_error() makes it when it is an error reply.
util::Expected<Reply> expect_success(util::Expected<Reply> reply, const std::string& what, const std::string& where);

}  // namespace pipeline::redis

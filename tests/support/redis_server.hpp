#pragma once

#include <sys/types.h>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "lib/redis/redis_connection.hpp"
#include "tests/support/loopback_socket.hpp"
#include "tests/support/process.hpp"

namespace pipeline::testing {

// A test CA and a server certificate it signed, as PEM files.
struct TlsFiles {
  std::string ca_cert;
  std::string ca_key;
  std::string server_cert;
  std::string server_key;
};

// Makes a self-signed CA named `ca_name` and a server certificate signed by
// it for `alt_names` (subjectAltName entries such as "DNS:localhost",
// "IP:127.0.0.1"), in `dir`, with the openssl command. EC keys: fast to make.
TlsFiles make_test_certificates(const std::string& dir, const std::vector<std::string>& alt_names,
                                const std::string& ca_name = "pipeline test CA");

// How a test's redis-server runs.
struct RedisServerOptions {
  // TLS only (--port 0 --tls-port P) with these files; clients are not asked
  // for certificates.
  bool tls = false;
  TlsFiles tls_files;
  bool appendonly = false;      // --appendonly yes, fsync every second
  std::string password;         // --requirepass
  std::string maxmemory_policy;  // empty: the server's default, noeviction
  std::string dir;              // data folder; empty: a temporary one of the server's own
  std::vector<std::string> extra_args;
};

// A real redis-server on 127.0.0.1 and a free port, started by the
// constructor (which returns once it answers PING) and killed by the
// destructor. Without persistence unless asked (--save '' --appendonly no).
class RedisServer {
 public:
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return m_port; }
  pid_t pid() const;
  const std::string& dir() const { return m_dir; }
  const RedisServerOptions& options() const { return m_options; }

  // redis://[:password@]127.0.0.1:<port>/<db>, rediss:// with TLS.
  std::string url(int db = 0) const;
  // How to connect to it: the URL with the test CA for TLS.
  redis::ConnectOptions connect_options(int db = 0) const;
  // A new connection to it.
  std::unique_ptr<redis::Connection> connect(int db = 0) const;
  // Runs one command on a fresh connection; fails the test when it cannot.
  redis::Reply command(const redis::Command& command) const;

  // Sends `signal` (SIGKILL by default) and waits until the server is gone.
  void kill(int signal = SIGKILL);
  // Sends a signal without waiting (SIGSTOP, SIGCONT).
  void signal(int signal);
  // Starts it again on the same port and folder, as after a crash.
  void restart();
  bool running();
  // What the server printed so far (its log).
  std::string log() const;

 private:
  void start();
  std::vector<std::string> arguments() const;

  RedisServerOptions m_options;
  std::unique_ptr<TempDir> m_own_dir;
  std::string m_dir;
  int m_port = 0;
  std::unique_ptr<Process> m_process;
};

}  // namespace pipeline::testing

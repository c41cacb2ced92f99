#include "tests/support/redis_server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

namespace pipeline::testing {
namespace {

void run_openssl(const std::vector<std::string>& args, const std::string& what) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto result = run_process(argv);
  if (result.exit_code != 0) throw std::runtime_error("openssl could not " + what + ": " + result.err);
}

}  // namespace

TlsFiles make_test_certificates(const std::string& dir, const std::vector<std::string>& alt_names,
                                const std::string& ca_name) {
  std::filesystem::create_directories(dir);
  TlsFiles files{dir + "/ca.crt", dir + "/ca.key", dir + "/server.crt", dir + "/server.key"};
  const std::string csr = dir + "/server.csr";
  const std::string extensions = dir + "/server.ext";
  std::string names;
  for (const auto& name : alt_names) names += (names.empty() ? "" : ",") + name;
  std::ofstream(extensions) << "subjectAltName=" << names << "\nbasicConstraints=CA:FALSE\n"
                            << "extendedKeyUsage=serverAuth,clientAuth\n";  // a cluster's nodes present it to each other
  run_openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
               files.ca_key, "-out", files.ca_cert, "-days", "2", "-subj", "/CN=" + ca_name, "-addext",
               "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"},
              "make the CA");
  run_openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
               files.server_key, "-out", csr, "-subj", "/CN=pipeline-test-server"},
              "make the server key");
  const std::string serial = std::to_string(std::random_device{}() | 1u);
  run_openssl({"x509", "-req", "-in", csr, "-CA", files.ca_cert, "-CAkey", files.ca_key, "-set_serial", serial,
               "-out", files.server_cert, "-days", "2", "-extfile", extensions},
              "sign the server certificate");
  return files;
}

RedisServer::RedisServer(RedisServerOptions options) : m_options(std::move(options)) {
  if (m_options.dir.empty()) {
    m_own_dir = std::make_unique<TempDir>();
    m_dir = m_own_dir->path();
  } else {
    m_dir = m_options.dir;
    std::filesystem::create_directories(m_dir);
  }
  // Another process may take the port between the probe and the start: try again.
  for (int attempt = 0;; ++attempt) {
    m_port = free_local_port();
    try {
      start();
      return;
    } catch (const std::exception&) {
      if (attempt == 4) throw;
    }
  }
}

RedisServer::~RedisServer() {
  if (m_process) {
    m_process->send_signal(SIGCONT);
    m_process->send_signal(SIGKILL);
    m_process->wait(std::chrono::seconds(10));
  }
}

pid_t RedisServer::pid() const { return m_process ? m_process->pid() : -1; }

std::vector<std::string> RedisServer::arguments() const {
  std::vector<std::string> args{"redis-server", "--bind", "127.0.0.1", "--dir", m_dir, "--save", "",
                                "--appendonly", m_options.appendonly ? "yes" : "no", "--logfile", "",
                                "--daemonize", "no", "--databases", "16"};
  if (m_options.tls) {
    args.insert(args.end(), {"--port", "0", "--tls-port", std::to_string(m_port), "--tls-cert-file",
                             m_options.tls_files.server_cert, "--tls-key-file", m_options.tls_files.server_key,
                             "--tls-ca-cert-file", m_options.tls_files.ca_cert, "--tls-auth-clients", "no"});
  } else {
    args.insert(args.end(), {"--port", std::to_string(m_port)});
  }
  if (!m_options.password.empty()) args.insert(args.end(), {"--requirepass", m_options.password});
  if (!m_options.maxmemory_policy.empty()) args.insert(args.end(), {"--maxmemory-policy", m_options.maxmemory_policy});
  args.insert(args.end(), m_options.extra_args.begin(), m_options.extra_args.end());
  return args;
}

void RedisServer::start() {
  m_process = std::make_unique<Process>(arguments());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  auto options = connect_options();
  options.connect_timeout = std::chrono::milliseconds(500);
  options.io_timeout = std::chrono::milliseconds(2000);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!m_process->running()) {
      const auto result = m_process->wait();
      m_process.reset();
      throw std::runtime_error("redis-server exited at start: " + result.out + result.err);
    }
    redis::Connection connection(options);
    auto reply = connection.command({"PING"});
    if (reply && reply->type == redis::Reply::Type::status && reply->text == "PONG") return;
    // A certificate made for another name (to test that it is refused) still
    // shows that the server is up and shaking hands.
    if (!reply && reply.error().code == "redis_tls_verify") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  m_process->send_signal(SIGKILL);
  const auto result = m_process->wait();
  m_process.reset();
  throw std::runtime_error("redis-server did not answer PING within 15 s: " + result.out + result.err);
}

std::string RedisServer::url(int db) const {
  const std::string login = m_options.password.empty() ? "" : ":" + m_options.password + "@";
  return std::string(m_options.tls ? "rediss://" : "redis://") + login + "127.0.0.1:" + std::to_string(m_port) + "/" +
         std::to_string(db);
}

redis::ConnectOptions RedisServer::connect_options(int db) const {
  redis::ConnectOptions options;
  options.url = redis::parse_redis_url(url(db)).value_or_throw();
  if (m_options.tls) options.ca_file = m_options.tls_files.ca_cert;
  return options;
}

std::unique_ptr<redis::Connection> RedisServer::connect(int db) const {
  return std::make_unique<redis::Connection>(connect_options(db));
}

redis::Reply RedisServer::command(const redis::Command& command) const {
  auto connection = connect();
  auto reply = connection->command(command);
  REQUIRE_MESSAGE(reply.has_value(), reply.error().message);
  return *reply;
}

void RedisServer::kill(int signal) {
  if (!m_process) return;
  m_process->send_signal(SIGCONT);
  m_process->send_signal(signal);
  m_process->wait(std::chrono::seconds(30));
  m_process.reset();
}

void RedisServer::signal(int signal) {
  if (m_process) m_process->send_signal(signal);
}

void RedisServer::restart() {
  kill(SIGKILL);
  start();
}

bool RedisServer::running() { return m_process && m_process->running(); }

std::string RedisServer::log() const { return m_process ? m_process->stdout_so_far() : std::string(); }

}  // namespace pipeline::testing

#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "lib/redis/redis_connection.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"

using pipeline::redis::Connection;
using pipeline::redis::ConnectOptions;
using pipeline::redis::Reply;
using pipeline::testing::RedisServer;
using pipeline::testing::RedisServerOptions;
using pipeline::testing::TempDir;
using pipeline::util::ErrorKind;

namespace {

Reply connection_reply(Connection& connection, const pipeline::redis::Command& command) {
  auto reply = connection.command(command);
  REQUIRE_MESSAGE(reply.has_value(), reply.error().message);
  return *reply;
}

// A listening socket that never accepts: the kernel completes connections
// to it, and nothing ever answers.
struct SilentListener {
  SilentListener() : fd(pipeline::testing::bind_loopback_socket(port)) { REQUIRE(::listen(fd, 8) == 0); }
  ~SilentListener() { ::close(fd); }
  int port = 0;
  int fd = -1;
};

ConnectOptions silent_options(const std::string& scheme, int port) {
  ConnectOptions options;
  options.url = pipeline::redis::parse_redis_url(scheme + "://:hidden-Secret-77@127.0.0.1:" + std::to_string(port))
                    .value_or_throw();
  options.connect_timeout = std::chrono::milliseconds(300);
  options.io_timeout = std::chrono::milliseconds(300);
  return options;
}

}  // namespace

TEST_CASE("commands and replies of every type, binary-safe") {
  RedisServer server;
  auto connection = server.connect();
  const std::string binary("a\0b\r\n$3\r\nc", 11);
  CHECK(connection_reply(*connection, {"SET", "k", binary}).is_ok());
  const Reply value = connection_reply(*connection, {"GET", "k"});
  CHECK(value.is_string());
  CHECK(value.text == binary);
  CHECK(connection_reply(*connection, {"GET", "missing"}).is_nil());
  const Reply counter = connection_reply(*connection, {"INCRBY", "n", "41"});
  CHECK(counter.is_integer());
  CHECK(counter.integer == 41);
  connection_reply(*connection, {"RPUSH", "l", "x", "", "z"});
  const Reply list = connection_reply(*connection, {"LRANGE", "l", "0", "-1"});
  REQUIRE(list.is_array());
  REQUIRE(list.elements.size() == 3);
  CHECK(list.elements[1].is_string());
  CHECK(list.elements[1].text.empty());
  CHECK(list.elements[2].text == "z");
  const Reply refused = connection_reply(*connection, {"INCR", "k"});
  CHECK(refused.is_error());
  CHECK(refused.error_code() == "ERR");
  // The connection goes on after an error reply.
  CHECK(connection_reply(*connection, {"PING"}).text == "PONG");
}

TEST_CASE("a pipeline sends many commands and reads their replies in order") {
  RedisServer server;
  auto connection = server.connect();
  std::vector<pipeline::redis::Command> commands;
  for (int i = 0; i < 500; ++i) commands.push_back({"INCR", "counter"});
  commands.push_back({"GET", "counter"});
  auto replies = connection->pipeline(commands);
  REQUIRE_MESSAGE(replies.has_value(), replies.error().message);
  REQUIRE(replies->size() == 501);
  for (int i = 0; i < 500; ++i) CHECK((*replies)[static_cast<std::size_t>(i)].integer == i + 1);
  CHECK(replies->back().text == "500");
}

TEST_CASE("values of megabytes go both ways") {
  RedisServer server;
  auto connection = server.connect();
  std::string big(3 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) % 251);
  CHECK(connection_reply(*connection, {"SET", "big", big}).is_ok());
  CHECK(connection_reply(*connection, {"GET", "big"}).text == big);
}

TEST_CASE("the URL's database is selected") {
  RedisServer server;
  auto in_three = server.connect(3);
  connection_reply(*in_three, {"SET", "where", "three"});
  auto in_zero = server.connect(0);
  CHECK(connection_reply(*in_zero, {"GET", "where"}).is_nil());
  CHECK(connection_reply(*in_three, {"GET", "where"}).text == "three");
}

TEST_CASE("AUTH with a password, and with a user and password") {
  RedisServerOptions options;
  options.password = "pw-Right-123";
  RedisServer server(options);
  auto connection = server.connect();
  CHECK(connection_reply(*connection, {"SET", "a", "1"}).is_ok());

  SUBCASE("a wrong password is a refused login that never shows the password") {
    ConnectOptions wrong = server.connect_options();
    wrong.url.password = "pw-Wrong-456";
    Connection refused(wrong);
    auto reply = refused.command({"GET", "a"});
    REQUIRE_FALSE(reply.has_value());
    CHECK(reply.error().kind == ErrorKind::bad_input);
    CHECK(reply.error().message.find("refused the login") != std::string::npos);
    CHECK(reply.error().message.find("pw-Wrong-456") == std::string::npos);
    CHECK(reply.error().message.find(":***@127.0.0.1") != std::string::npos);
  }
  SUBCASE("without a password the server refuses the command, as bad input") {
    ConnectOptions none = server.connect_options();
    none.url.password.clear();
    Connection anonymous(none);
    auto reply = anonymous.command({"GET", "a"});
    REQUIRE(reply.has_value());
    CHECK(reply->error_code() == "NOAUTH");
    auto expected = pipeline::redis::expect_success(std::move(reply), "reading a", anonymous.where());
    REQUIRE_FALSE(expected.has_value());
    CHECK(expected.error().kind == ErrorKind::bad_input);
  }
  SUBCASE("a named user logs in with AUTH user password") {
    CHECK(connection_reply(*connection, {"ACL", "SETUSER", "worker", "on", ">worker-pw", "~*", "+@all"}).is_ok());
    ConnectOptions user = server.connect_options();
    user.url.user = "worker";
    user.url.password = "worker-pw";
    Connection as_worker(user);
    CHECK(connection_reply(as_worker, {"ACL", "WHOAMI"}).text == "worker");
    user.url.password = "not-it";
    Connection wrong(user);
    auto reply = wrong.command({"PING"});
    REQUIRE_FALSE(reply.has_value());
    CHECK(reply.error().code == "redis_auth");
  }
}

TEST_CASE("a lost connection is transient and the next command reconnects") {
  RedisServer server;
  auto connection = server.connect();
  CHECK(connection_reply(*connection, {"SET", "a", "1"}).is_ok());

  SUBCASE("the server closed an idle connection") {
    server.command({"CLIENT", "KILL", "TYPE", "normal"});
    CHECK(connection_reply(*connection, {"GET", "a"}).text == "1");
  }
  SUBCASE("the server went away and came back") {
    server.kill();
    auto reply = connection->command({"GET", "a"});
    REQUIRE_FALSE(reply.has_value());
    CHECK(reply.error().kind == ErrorKind::transient);
    CHECK(reply.error().code == pipeline::redis::k_connection_error_code);
    CHECK(pipeline::util::exit_code(reply.error().kind) == 75);
    CHECK_FALSE(connection->connected());
    server.restart();
    CHECK(connection_reply(*connection, {"PING"}).text == "PONG");
  }
}

TEST_CASE("nothing listening is transient; the message shows the URL masked") {
  const int port = pipeline::testing::free_local_port();
  Connection connection(silent_options("redis", port));
  auto reply = connection.command({"PING"});
  REQUIRE_FALSE(reply.has_value());
  CHECK(reply.error().kind == ErrorKind::transient);
  CHECK(reply.error().message.find("redis://:***@127.0.0.1:" + std::to_string(port) + "/0") != std::string::npos);
  CHECK(reply.error().message.find("hidden-Secret-77") == std::string::npos);
}

TEST_CASE("a server that never answers times out, transient") {
  SilentListener listener;
  SUBCASE("plain") {
    Connection connection(silent_options("redis", listener.port));
    const auto start = std::chrono::steady_clock::now();
    auto reply = connection.command({"PING"});
    REQUIRE_FALSE(reply.has_value());
    CHECK(reply.error().kind == ErrorKind::transient);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  }
  SUBCASE("TLS handshake") {
    Connection connection(silent_options("rediss", listener.port));
    auto reply = connection.command({"PING"});
    REQUIRE_FALSE(reply.has_value());
    CHECK(reply.error().kind == ErrorKind::transient);
    CHECK(reply.error().message.find("TLS") != std::string::npos);
  }
}

TEST_CASE("TLS: the server's certificate is verified") {
  TempDir dir;
  RedisServerOptions options;
  options.tls = true;
  options.tls_files = pipeline::testing::make_test_certificates(dir / "good", {"DNS:localhost", "IP:127.0.0.1"});
  options.password = "tls-Secret-9";
  RedisServer server(options);

  SUBCASE("with the right CA, by IP address and by name (SNI)") {
    auto connection = server.connect();
    CHECK(connection_reply(*connection, {"SET", "t", "ok"}).is_ok());
    ConnectOptions by_name = server.connect_options();
    by_name.url.host = "localhost";
    Connection named(by_name);
    CHECK(connection_reply(named, {"GET", "t"}).text == "ok");
  }
  SUBCASE("a certificate from another CA is refused, as bad input") {
    const auto other = pipeline::testing::make_test_certificates(dir / "other", {"IP:127.0.0.1"}, "another CA");
    ConnectOptions wrong = server.connect_options();
    wrong.ca_file = other.ca_cert;
    Connection connection(wrong);
    auto reply = connection.command({"PING"});
    REQUIRE_FALSE(reply.has_value());
    CHECK(reply.error().kind == ErrorKind::bad_input);
    CHECK(reply.error().code == "redis_tls_verify");
    CHECK(reply.error().message.find("--redis-ca") != std::string::npos);
    CHECK(reply.error().message.find("tls-Secret-9") == std::string::npos);
  }
  SUBCASE("the system's CAs do not know the test CA") {
    ConnectOptions system = server.connect_options();
    system.ca_file.clear();
    Connection connection(system);
    auto reply = connection.command({"PING"});
    REQUIRE_FALSE(reply.has_value());
    CHECK(reply.error().code == "redis_tls_verify");
  }
  SUBCASE("an unreadable CA file is bad input") {
    ConnectOptions missing = server.connect_options();
    missing.ca_file = dir / "nope.pem";
    Connection connection(missing);
    auto reply = connection.command({"PING"});
    REQUIRE_FALSE(reply.has_value());
    CHECK(reply.error().kind == ErrorKind::bad_input);
  }
  SUBCASE("plain TCP to a TLS port fails") {
    ConnectOptions plain = server.connect_options();
    plain.url.tls = false;
    plain.io_timeout = std::chrono::milliseconds(1000);
    Connection connection(plain);
    CHECK_FALSE(connection.command({"PING"}).has_value());
  }
}

TEST_CASE("TLS: a certificate for another host name is refused") {
  TempDir dir;
  RedisServerOptions options;
  options.tls = true;
  options.tls_files = pipeline::testing::make_test_certificates(dir.path(), {"DNS:redis.example.test"});
  RedisServer server(options);
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    CAPTURE(host);
    ConnectOptions connect = server.connect_options();
    connect.url.host = host;
    Connection connection(connect);
    auto reply = connection.command({"PING"});
    REQUIRE_FALSE(reply.has_value());
    CHECK(reply.error().code == "redis_tls_verify");
    CHECK(reply.error().message.find("mismatch") != std::string::npos);
  }
}

#include "tests/support/webhook_receiver.hpp"

#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>

#include "tests/support/loopback_socket.hpp"

namespace pipeline::testing {
namespace {

std::string loopback_url(int port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

}  // namespace

WebhookReceiver::WebhookReceiver() : m_server(std::make_unique<httplib::Server>()) {
  m_server->Post(".*", [this](const httplib::Request& request, httplib::Response& response) {
    Received received;
    received.path = request.path;
    received.body = request.body;
    received.at = std::chrono::steady_clock::now();
    for (const auto& [name, value] : request.headers) {
      std::string lower = name;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      received.headers[lower] = value;
    }
    int status = 200;
    {
      std::lock_guard lock(m_mutex);
      if (!m_statuses.empty()) {
        status = m_statuses.front();
        m_statuses.erase(m_statuses.begin());
      }
      m_received.push_back(std::move(received));
    }
    m_arrived.notify_all();
    response.status = status;
    response.set_content(status < 300 ? "ok" : "no", "text/plain");
  });
  m_port = m_server->bind_to_any_port("127.0.0.1");
  if (m_port <= 0) throw std::runtime_error("cannot bind a webhook receiver on 127.0.0.1");
  m_thread = std::thread([this] { m_server->listen_after_bind(); });
  for (int i = 0; i < 5000 && !m_server->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

WebhookReceiver::~WebhookReceiver() {
  m_server->stop();
  if (m_thread.joinable()) m_thread.join();
}

std::string WebhookReceiver::url(const std::string& path) const { return loopback_url(m_port, path); }

void WebhookReceiver::answer_with(std::vector<int> statuses) {
  std::lock_guard lock(m_mutex);
  m_statuses = std::move(statuses);
}

std::vector<WebhookReceiver::Received> WebhookReceiver::received() const {
  std::lock_guard lock(m_mutex);
  return m_received;
}

bool WebhookReceiver::wait_for(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(m_mutex);
  return m_arrived.wait_for(lock, timeout, [&] { return m_received.size() >= count; });
}

SilentListener::SilentListener() {
  m_fd = bind_loopback_socket(m_port);
  if (::listen(m_fd, 64) != 0) {
    ::close(m_fd);
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
}

SilentListener::~SilentListener() { ::close(m_fd); }

std::string SilentListener::url(const std::string& path) const { return loopback_url(m_port, path); }

}  // namespace pipeline::testing

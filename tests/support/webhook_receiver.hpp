#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace pipeline::testing {

// A real HTTP server on 127.0.0.1 and a free port that takes webhooks: it
// keeps every POST and answers with the statuses set up by the test, in
// order, then 200.
class WebhookReceiver {
 public:
  struct Received {
    std::string path;
    std::map<std::string, std::string> headers;  // names in lowercase
    std::string body;
    std::chrono::steady_clock::time_point at;
  };

  WebhookReceiver();
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  // "http://127.0.0.1:<port>" followed by `path`.
  std::string url(const std::string& path = "/hook") const;
  // The statuses of the next requests, in order; 200 after them.
  void answer_with(std::vector<int> statuses);
  std::vector<Received> received() const;
  // Waits until `count` requests have arrived; false when `timeout` passed first.
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout) const;

 private:
  std::unique_ptr<httplib::Server> m_server;
  std::thread m_thread;
  int m_port = 0;
  mutable std::mutex m_mutex;
  mutable std::condition_variable m_arrived;
  std::vector<int> m_statuses;
  std::vector<Received> m_received;
};

// A port on 127.0.0.1 that takes connections (the kernel completes them) and
// never reads or answers: a receiver that hangs.
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  std::string url(const std::string& path = "/hook") const;

 private:
  int m_fd = -1;
  int m_port = 0;
};

}  // namespace pipeline::testing

#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pipeline::testing {

// A TCP listener on 127.0.0.1 and a free port that plays an HTTP proxy which
// answers nothing: it records the host each request is for, from its first
// line ("CONNECT host:443 ..." or "GET http://host/... "), and closes the
// connection. Set as a browser's proxy, it sees every request a page tries
// to send anywhere, whatever its scheme.
class ProxyRecorder {
 public:
  ProxyRecorder();
  ~ProxyRecorder();
  ProxyRecorder(const ProxyRecorder&) = delete;
  ProxyRecorder& operator=(const ProxyRecorder&) = delete;

  int port() const { return m_port; }
  // The host of every request so far, in order ("?" when the first line did not say).
  std::vector<std::string> hosts() const;

 private:
  int m_socket = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  mutable std::mutex m_mutex;
  std::vector<std::string> m_hosts;
  std::thread m_thread;
};

}  // namespace pipeline::testing

#pragma once

// A cpp-httplib server whose connections read at most a set number of bytes
// of each request's head (request line and headers). Debian's cpp-httplib
// 0.11 bounds each header line but not how many there are, so without this a
// client could grow the server's memory without end; the body stays bounded
// by the server's payload limit. Past the limit the request is answered 400.

#include <cstddef>

#include <httplib.h>

namespace pipeline::service {

class BoundedHttpServer final : public httplib::Server {
 public:
  explicit BoundedHttpServer(std::size_t max_head_bytes) : m_max_head_bytes(max_head_bytes) {}

 private:
  // Serves one connection's requests, kept alive as cpp-httplib does, through
  // a stream that counts each head's bytes.
  bool process_and_close_socket(socket_t sock) override;

  const std::size_t m_max_head_bytes;
};

}  // namespace pipeline::service

#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/util/cancel.hpp"

namespace pipeline::llm {

struct HttpRequest {
  std::string method = "POST";  // or "GET"
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  double connect_timeout_s = 15;
  double total_timeout_s = 300;
  // Progress is a content event of an event stream (content, reasoning, a
  // refusal, a finish reason, usage or an error: not a keep-alive comment or
  // an empty chunk), or any body bytes of a 2xx answer that is not
  // text/event-stream (a server that ignored "stream").
  // Seconds from the start to the first progress before the transfer is
  // abandoned (a reasoning model may think for minutes first); 0 for none.
  double first_progress_timeout_s = 0;
  // Seconds without progress, once the first has come, before the transfer
  // is abandoned; 0 for none.
  double idle_timeout_s = 0;
  // Called with the transfer's libcurl easy handle (a CURL*) once the options
  // above are set, for what they do not name, e.g. the address guard of
  // lib/net/address_guard.hpp. The handle is reset before its next transfer.
  std::function<void(void* curl_handle)> configure_handle;
};

// Takes the response body as it arrives, with the HTTP status; returns how
// many progress events the bytes completed (keep-alive bytes count none),
// which is what ends the wait for the first progress and resets the idle timer.
using BodySink = std::function<int(std::string_view bytes, int status)>;

// How a transfer ended.
struct HttpOutcome {
  // idle: no progress for idle_timeout_s after the first; first_progress: none
  // within first_progress_timeout_s.
  enum class Stop { none, cancelled, idle, first_progress };
  int status = 0;  // 0 when no response arrived
  std::optional<std::string> retry_after;
  // The x-ratelimit-* headers of the last response: lowercase names, trimmed values.
  std::vector<std::pair<std::string, std::string>> rate_headers;
  std::string content_type;  // of the last response, lowercase, without parameters
  int curl_code = 0;       // CURLcode; 0 when the transfer completed
  std::string curl_error;  // libcurl's description when it did not
  Stop stop = Stop::none;  // the transfer was abandoned on purpose
  double duration_s = 0;
};

// libcurl transfers from pooled handles, so connections are reused across
// calls and threads. Each transfer runs in the calling thread and checks the
// cancel token and the idle timer at least every 100 ms, so a stop or a
// stalled stream ends it promptly. Thread-safe.
class CurlTransport {
 public:
  CurlTransport();
  ~CurlTransport();
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  HttpOutcome perform(const HttpRequest& request, const BodySink& sink, const util::CancelToken& cancel);

  // Whether a failed transfer's CURLcode means that retrying cannot help
  // (a malformed URL, an unsupported protocol, a certificate problem).
  static bool is_permanent_failure(int curl_code);
  static bool is_timeout(int curl_code);
  // How many new connections this transport has opened so far (reused
  // connections count once).
  long connections_opened() const;

 private:
  struct Pool;
  std::unique_ptr<Pool> m_pool;
};

}  // namespace pipeline::llm

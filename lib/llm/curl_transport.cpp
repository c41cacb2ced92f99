#include "lib/llm/curl_transport.hpp"
#include "lib/util/text.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>

#include <curl/curl.h>

namespace pipeline::llm {
namespace {

constexpr int k_poll_interval_ms = 100;

void ensure_curl_initialised() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// State shared with libcurl's callbacks during one transfer.
struct TransferState {
  const BodySink* sink = nullptr;
  int status = 0;
  std::optional<std::string> retry_after;
  std::vector<std::pair<std::string, std::string>> rate_headers;
  std::string content_type;
  util::Clock::time_point last_content;
  bool progressed = false;  // progress has come at least once

  void progress() {
    last_content = util::Clock::now();
    progressed = true;
  }

  bool success() const { return status >= 200 && status < 300; }
  // A 2xx body that is not an event stream makes progress with every byte.
  bool bytes_are_progress() const { return success() && content_type != "text/event-stream"; }
};

std::string trimmed(std::string_view value) {
  const auto first = value.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  const auto last = value.find_last_not_of(" \t\r\n");
  return std::string(value.substr(first, last - first + 1));
}


std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& state = *static_cast<TransferState*>(user);
  std::string_view line(data, size * count);
  if (line.substr(0, 5) == "HTTP/") {
    // A new status line (after a redirect or "100 Continue") starts a new response.
    const auto space = line.find(' ');
    state.status = space == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(space + 1, 3)).c_str());
    state.retry_after.reset();
    state.rate_headers.clear();
    state.content_type.clear();
    return line.size();
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return line.size();
  const std::string name = util::to_lower(line.substr(0, colon));
  if (name == "retry-after") {
    if (std::string value = trimmed(line.substr(colon + 1)); !value.empty()) state.retry_after = value;
  } else if (name.rfind("x-ratelimit-", 0) == 0) {
    if (state.rate_headers.size() < 16) state.rate_headers.emplace_back(name, trimmed(line.substr(colon + 1)));
  } else if (name == "content-type") {
    const std::string value = util::to_lower(trimmed(line.substr(colon + 1)));
    state.content_type = trimmed(value.substr(0, value.find(';')));
    // A whole answer's headers are its first sign of life.
    if (state.bytes_are_progress()) state.progress();
  }
  return line.size();
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& state = *static_cast<TransferState*>(user);
  const std::size_t length = size * count;
  const int events = (*state.sink)(std::string_view(data, length), state.status);
  if (events > 0 || (length > 0 && state.bytes_are_progress())) state.progress();
  return length;
}

}  // namespace

// One reusable transfer context: a multi handle keeps the connection cache,
// the easy handle its TLS session and DNS entries. Outside the anonymous
// namespace, since the pool (declared in the header) holds them.
struct CurlSlot {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
};

struct CurlTransport::Pool {
  using Slot = CurlSlot;
  std::mutex mutex;
  std::vector<Slot> idle;
  std::atomic<long> connections{0};

  Slot take() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        Slot slot = idle.back();
        idle.pop_back();
        return slot;
      }
    }
    return Slot{curl_multi_init(), curl_easy_init()};
  }

  void give_back(Slot slot) {
    std::lock_guard lock(mutex);
    idle.push_back(slot);
  }

  ~Pool() {
    for (auto& slot : idle) {
      curl_easy_cleanup(slot.easy);
      curl_multi_cleanup(slot.multi);
    }
  }
};

CurlTransport::CurlTransport() : m_pool(std::make_unique<Pool>()) { ensure_curl_initialised(); }

CurlTransport::~CurlTransport() = default;

bool CurlTransport::is_permanent_failure(int curl_code) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
      return true;
    default:
      return false;
  }
}

bool CurlTransport::is_timeout(int curl_code) { return curl_code == CURLE_OPERATION_TIMEDOUT; }

long CurlTransport::connections_opened() const { return m_pool->connections.load(); }

HttpOutcome CurlTransport::perform(const HttpRequest& request, const BodySink& sink, const util::CancelToken& cancel) {
  const auto start = util::Clock::now();
  HttpOutcome outcome;
  TransferState state;
  state.sink = &sink;
  state.last_content = start;
  char error_buffer[CURL_ERROR_SIZE] = {0};

  CurlSlot slot = m_pool->take();
  CURL* easy = slot.easy;
  curl_easy_reset(easy);
  curl_slist* headers = nullptr;
  for (const auto& header : request.headers) headers = curl_slist_append(headers, header.c_str());
  // Without this libcurl may wait for "100 Continue" before sending a large body.
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout_s * 1000));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout_s * 1000));
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &state);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075700
  // An abandoned transfer must not wait for a slow DNS lookup's resolver thread.
  curl_easy_setopt(easy, CURLOPT_QUICK_EXIT, 1L);
#endif
  if (request.method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  }

  if (request.configure_handle) request.configure_handle(easy);
  curl_multi_add_handle(slot.multi, easy);
  int running = 1;
  while (true) {
    if (curl_multi_perform(slot.multi, &running) != CURLM_OK || running == 0) break;
    if (cancel.stop_requested()) {
      outcome.stop = HttpOutcome::Stop::cancelled;
      break;
    }
    const double quiet_s = std::chrono::duration<double>(util::Clock::now() - state.last_content).count();
    if (!state.progressed && request.first_progress_timeout_s > 0 && quiet_s > request.first_progress_timeout_s) {
      outcome.stop = HttpOutcome::Stop::first_progress;
      break;
    }
    if (state.progressed && request.idle_timeout_s > 0 && quiet_s > request.idle_timeout_s) {
      outcome.stop = HttpOutcome::Stop::idle;
      break;
    }
    curl_multi_poll(slot.multi, nullptr, 0, k_poll_interval_ms, nullptr);
  }
  int pending = 0;
  while (CURLMsg* message = curl_multi_info_read(slot.multi, &pending)) {
    if (message->msg == CURLMSG_DONE && message->easy_handle == easy) outcome.curl_code = message->data.result;
  }
  long connects = 0;
  if (curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK) m_pool->connections += connects;
  curl_multi_remove_handle(slot.multi, easy);
  curl_slist_free_all(headers);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, nullptr);
  m_pool->give_back(slot);

  outcome.status = state.status;
  outcome.retry_after = state.retry_after;
  outcome.rate_headers = std::move(state.rate_headers);
  outcome.content_type = state.content_type;
  if (outcome.curl_code != CURLE_OK) {
    outcome.curl_error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(static_cast<CURLcode>(outcome.curl_code));
  }
  outcome.duration_s = util::seconds_since(start);
  return outcome;
}

}  // namespace pipeline::llm

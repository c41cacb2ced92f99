#include "lib/pdf/download.hpp"
#include "lib/util/text.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>

namespace pipeline::pdf {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_allowed_protocols = "http,https";

void initialise_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// What the write callback needs; it counts bytes so that a server that sends
// no Content-Length (or a false one) is still stopped at the cap.
struct Sink {
  int fd = -1;
  std::uint64_t written = 0;
  std::uint64_t max_bytes = 0;
  bool too_large = false;
  bool write_failed = false;
};

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t length = size * count;
  if (sink->written + length > sink->max_bytes) {
    sink->too_large = true;
    return 0;
  }
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n = ::write(sink->fd, data + done, length - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      sink->write_failed = true;
      return 0;
    }
    done += static_cast<std::size_t>(n);
  }
  sink->written += length;
  return length;
}

// libcurl calls this at least once a second, also while no data flows.
int check_stop(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const util::CancelToken*>(user)->stop_requested() ? 1 : 0;
}

// The error for a download that the token stopped.
util::Error stopped(const std::string& url, util::StopReason reason) {
  if (reason == util::StopReason::deadline) {
    return util::fail(util::ErrorKind::deadline, "the time budget ran out while downloading " + url);
  }
  const char* how = reason == util::StopReason::cancelled ? " cancelled" : " interrupted";
  return util::fail(util::ErrorKind::interrupted, "download of " + url + how);
}

// The whole transfer's limit in milliseconds: the configured one, or less
// when the token's deadline comes sooner (at least 1, since 0 means none).
long transfer_timeout_ms(const DownloadOptions& options, const util::CancelToken& cancel) {
  double limit_ms = static_cast<double>(options.total_timeout_s) * 1000.0;
  if (const auto left = cancel.seconds_left()) limit_ms = std::min(limit_ms, std::ceil(*left * 1000.0));
  return static_cast<long>(std::max(limit_ms, 1.0));
}

using CurlHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;

// A temporary file beside the destination, removed unless it was renamed.
class PartFile {
 public:
  explicit PartFile(const fs::path& destination) {
    std::string pattern = destination.string() + ".part-XXXXXX";
    m_fd = ::mkstemp(pattern.data());
    if (m_fd >= 0) m_path = pattern;
  }
  ~PartFile() {
    if (m_fd >= 0) ::close(m_fd);
    if (!m_path.empty()) ::unlink(m_path.c_str());
  }
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;

  int fd() const { return m_fd; }
  const std::string& path() const { return m_path; }

  // Flushes, closes and renames the file to `destination`.
  bool commit(const fs::path& destination) {
    const bool synced = ::fsync(m_fd) == 0;
    const bool closed = ::close(m_fd) == 0;
    m_fd = -1;
    if (!synced || !closed || ::rename(m_path.c_str(), destination.c_str()) != 0) return false;
    m_path.clear();
    return true;
  }

 private:
  int m_fd = -1;
  std::string m_path;
};

}  // namespace

bool is_url(std::string_view input) {
  return util::starts_with_ignoring_case(input, "http://") || util::starts_with_ignoring_case(input, "https://");
}

bool has_url_scheme(std::string_view input) {
  const auto colon = input.find("://");
  if (colon == std::string_view::npos || colon == 0) return false;
  if (!std::isalpha(static_cast<unsigned char>(input[0]))) return false;
  for (std::size_t i = 1; i < colon; ++i) {
    const auto c = static_cast<unsigned char>(input[i]);
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

util::Expected<void> download(std::string_view url_view, const fs::path& destination,
                              const DownloadOptions& options, const util::CancelToken& cancel) {
  const std::string url(url_view);
  const std::string failed = "download of " + url + " failed: ";
  if (!is_url(url)) {
    return util::fail(util::ErrorKind::bad_input,
                      "refused to download " + url + ": only http:// and https:// URLs are supported");
  }
  if (const auto reason = cancel.stop_reason(); reason != util::StopReason::none) return stopped(url, reason);
  initialise_curl_once();
  CurlHandle curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return util::fail(util::ErrorKind::failed, failed + "libcurl could not start");

  PartFile part(destination);
  if (part.fd() < 0) {
    return util::fail(util::ErrorKind::failed,
                      failed + "cannot create a file beside " + destination.string() + ": " + std::strerror(errno));
  }
  Sink sink;
  sink.fd = part.fd();
  sink.max_bytes = options.max_bytes;
  char error_text[CURL_ERROR_SIZE] = {};

  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, k_allowed_protocols);
  curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, k_allowed_protocols);
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(handle, CURLOPT_MAXREDIRS, static_cast<long>(options.max_redirects));
  curl_easy_setopt(handle, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_s);
  const long timeout_ms = transfer_timeout_ms(options, cancel);
  const bool deadline_caps = timeout_ms < static_cast<long>(options.total_timeout_s) * 1000;
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "pipeline/" PIPELINE_VERSION);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, check_stop);
  curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &cancel);
  net::GuardState guard;
  net::guard_curl_handle(handle, options.url_guard, guard);

  const CURLcode code = curl_easy_perform(handle);
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  const auto bad = [&](const std::string& why) { return util::fail(util::ErrorKind::bad_input, failed + why); };

  if (code == CURLE_ABORTED_BY_CALLBACK || code == CURLE_OPERATION_TIMEDOUT) {
    if (const auto reason = cancel.stop_reason(); reason != util::StopReason::none) return stopped(url, reason);
    // A timeout that the deadline cap caused is the deadline, not a slow
    // server, even when curl's clock fired a hair before the token's.
    if (code == CURLE_OPERATION_TIMEDOUT && deadline_caps) return stopped(url, util::StopReason::deadline);
  }
  if (code != CURLE_OK && guard.any_refused()) return net::refusal_error(url, guard);
  if (sink.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return bad("the file is larger than the limit of " + util::megabytes_text(options.max_bytes));
  }
  if (sink.write_failed) {
    return util::fail(util::ErrorKind::failed, failed + "cannot write " + part.path() + ": " + std::strerror(errno));
  }
  switch (code) {
    case CURLE_OK:
      break;
    case CURLE_HTTP_RETURNED_ERROR:
      return bad("HTTP " + std::to_string(status));
    case CURLE_TOO_MANY_REDIRECTS:
      return bad("more than " + std::to_string(options.max_redirects) + " redirects");
    case CURLE_UNSUPPORTED_PROTOCOL:
      return bad("it redirects to a URL that is not http:// or https://");
    case CURLE_OPERATION_TIMEDOUT:
      return bad(error_text[0] ? std::string("timed out (") + error_text + ")" : "timed out");
    case CURLE_ABORTED_BY_CALLBACK:
      return stopped(url, util::StopReason::signal);
    default:
      return bad(error_text[0] ? error_text : curl_easy_strerror(code));
  }
  if (status < 200 || status >= 300) return bad("HTTP " + std::to_string(status));
  if (!part.commit(destination)) {
    return util::fail(util::ErrorKind::failed,
                      failed + "cannot save it as " + destination.string() + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace pipeline::pdf

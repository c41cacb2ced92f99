#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "lib/net/address_guard.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::pdf {

struct DownloadOptions {
  std::uint64_t max_bytes = 100ull * 1024 * 1024;
  int max_redirects = 5;
  long connect_timeout_s = 15;
  long total_timeout_s = 300;  // also capped by the cancel token's deadline
  // Private, loopback and link-local destinations are refused unless allowed.
  net::UrlGuardPolicy url_guard;
};

// True for http:// and https:// inputs, which are downloaded, not opened.
bool is_url(std::string_view input);

// True for any "scheme://..." input (file://, ftp://, http://, ...), so that a
// caller can hand every URL to download() and have the others refused there.
bool has_url_scheme(std::string_view input);

// Downloads an http(s) URL into `destination` with libcurl. Other schemes are
// refused; redirects and size are capped; failures are bad_input. Every
// address connected to (each redirect hop included) passes options.url_guard
// first, and a refused one fails with net::refusal_error. The transfer
// stops within about a second once `cancel` stops: interrupted for a signal or
// cancel(), deadline when its time budget runs out. Nothing is left at
// `destination` unless the whole body arrived.
util::Expected<void> download(std::string_view url, const std::filesystem::path& destination,
                              const DownloadOptions& options, const util::CancelToken& cancel);

}  // namespace pipeline::pdf

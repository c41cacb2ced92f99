#include "lib/pdf/ingest.hpp"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

namespace pipeline::pdf {
namespace {

namespace fs = std::filesystem;

// A private temporary folder, removed with everything in it at scope exit;
// its path is empty when it could not be made.
class TemporaryFolder {
 public:
  TemporaryFolder() {
    std::error_code ec;
    const auto base = fs::temp_directory_path(ec);
    if (ec) return;
    std::string pattern = (base / "pipeline-download-XXXXXX").string();
    if (::mkdtemp(pattern.data())) m_path = pattern;
  }
  ~TemporaryFolder() {
    std::error_code ec;
    if (!m_path.empty()) fs::remove_all(m_path, ec);
  }
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;

  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

// `error` with every mention of `from` replaced by `to`.
util::Error renamed(util::Error error, const std::string& from, const std::string& to) {
  for (auto at = error.message.find(from); at != std::string::npos; at = error.message.find(from, at + to.size())) {
    error.message.replace(at, from.size(), to);
  }
  return error;
}

}  // namespace

util::Expected<ExtractedDocument> ingest(std::string_view input_view, const IngestOptions& options,
                                         const util::CancelToken& cancel) {
  const std::string input(input_view);
  if (!has_url_scheme(input)) return extract_text(input, options.limits, cancel);
  if (!is_url(input)) {
    return util::fail(util::ErrorKind::bad_input,
                      "refused to download " + input + ": only http:// and https:// URLs are supported");
  }
  TemporaryFolder folder;
  if (folder.path().empty()) {
    return util::fail(util::ErrorKind::failed,
                      "cannot create a temporary folder to download " + input + ": " + std::strerror(errno));
  }
  const fs::path file = folder.path() / "document.pdf";
  // Download errors name the URL already.
  if (auto downloaded = download(input, file, options.download, cancel); !downloaded) return downloaded.error();
  auto document = extract_text(file, options.limits, cancel);
  if (!document) return renamed(document.error(), file.string(), input);
  document->path = input;
  return document;
}

}  // namespace pipeline::pdf

#pragma once

#include <string_view>

#include "lib/pdf/download.hpp"
#include "lib/pdf/extract.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::pdf {

// How a named document is fetched and how much of it is read.
struct IngestOptions {
  DownloadOptions download;
  ExtractLimits limits;
};

// The text of the document a user named: a local path is extracted as is; an
// http(s) URL is downloaded into a private temporary folder (removed before
// returning) and extracted, and then `path` and every error message name the
// URL, never the temporary file; any other "scheme://" input is refused with
// bad_input. The download and the extraction stop when `cancel` does (see
// download() and extract_text()); the download is refused for private
// addresses unless options.download.url_guard allows them.
util::Expected<ExtractedDocument> ingest(std::string_view input, const IngestOptions& options,
                                         const util::CancelToken& cancel);

}  // namespace pipeline::pdf

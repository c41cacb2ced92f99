#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "lib/util/cancel.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::pdf {

// The text of a PDF and what a run records about it.
struct ExtractedDocument {
  std::string path;    // where it was read from (a local path)
  std::string sha256;  // of the file's bytes
  std::uint64_t bytes = 0;
  int pages = 0;
  std::string title;  // from the document's metadata, else empty
  std::string text;   // every page in reading order, pages separated by '\f'
  std::size_t chars() const;  // Unicode code points in text
};

// How much of a document extraction will read, so that a hostile PDF costs
// seconds, not minutes or gigabytes.
struct ExtractLimits {
  int max_pages = 2000;                                 // --max-pages
  std::uint64_t max_text_bytes = 20ull * 1024 * 1024;  // --max-text-mb
};

// Extracts the text of every page with MuPDF. Fails with bad_input, with one
// clear sentence, for a missing file, a directory, an empty file, a file that
// is not a PDF, a truncated or damaged PDF, a password-protected PDF, a PDF
// with no text layer, and one past `limits`: more pages than max_pages (found
// before any page is read), or more text than max_text_bytes. Reading stops
// as soon as the text passes the cap, also in the middle of a page; one page
// may hold at most a sixteenth of the cap in characters (at least 262144),
// which bounds MuPDF's memory for a page to about 100 MB at the default cap.
// Reading also stops within about a tenth of a second once `cancel` stops,
// in the middle of a page too (a page of drawing operators and no text
// included): interrupted for a signal or cancel(), deadline when its time
// budget runs out, as download() does. MuPDF's own messages go to
// util::log_verbose only.
util::Expected<ExtractedDocument> extract_text(const std::filesystem::path& path, const ExtractLimits& limits = {},
                                               const util::CancelToken& cancel = util::CancelToken{});

}  // namespace pipeline::pdf

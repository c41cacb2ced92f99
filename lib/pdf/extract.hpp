#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

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

// Extracts the text of every page with MuPDF. Fails with bad_input, with one
// clear sentence, for a missing file, a directory, an empty file, a file that
// is not a PDF, a truncated or damaged PDF, a password-protected PDF and a PDF
// with no text layer. MuPDF's own messages go to util::log_verbose only.
util::Expected<ExtractedDocument> extract_text(const std::filesystem::path& path);

}  // namespace pipeline::pdf

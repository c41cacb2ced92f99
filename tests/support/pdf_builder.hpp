#pragma once

// Builds the PDFs the tests need with MuPDF's own writing API, so that no test
// depends on a file from outside the repository.

#include <cstddef>
#include <string>
#include <vector>

namespace pipeline::testing {

struct PdfBuildOptions {
  std::string title;           // the document information's Title, if not empty
  std::string user_password;   // encrypts with AES-256 when this or owner_password is set
  std::string owner_password;
};

// Writes a PDF with one page per entry of `pages`; each '\n'-separated line
// of an entry becomes one line of 12 pt Helvetica (ASCII text). Throws
// std::runtime_error when MuPDF fails.
void write_text_pdf(const std::string& path, const std::vector<std::string>& pages,
                    const PdfBuildOptions& options = {});

// Writes `pages` pages that each show only a raster image, as a scan does.
void write_image_only_pdf(const std::string& path, int pages = 1);

// Writes one page of vector drawing (filled and stroked shapes), no text.
void write_drawing_only_pdf(const std::string& path);

// Writes `pages` pages that each pile `chars_per_page` characters of 1 pt
// text onto one spot: all of them inside the page, so all of them are text.
void write_dense_text_pdf(const std::string& path, int pages, std::size_t chars_per_page);

// Writes one page of drawing operators and no text whose /Contents names one
// deflated stream of `unit_bytes` (at least) `copies` times: MuPDF reads the
// copies as one content stream, so a file of kilobytes holds gigabytes of
// operators that MuPDF must interpret on a single page.
void write_operator_bomb_pdf(const std::string& path, std::size_t unit_bytes, int copies);

// Copies the first `keep_fraction` of `source`'s bytes to `destination`,
// as an interrupted download leaves it.
void write_truncated_copy(const std::string& source, const std::string& destination, double keep_fraction);

// Writes `content` to `path` as is.
void write_bytes(const std::string& path, const std::string& content);

// The whole file as bytes.
std::string read_bytes(const std::string& path);

}  // namespace pipeline::testing

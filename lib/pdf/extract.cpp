#include "lib/pdf/extract.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <string_view>
#include <system_error>

#include "lib/pdf/mupdf_context.hpp"
#include "lib/util/log.hpp"
#include "lib/util/sha256.hpp"

extern "C" {
#include <mupdf/pdf.h>
}

// MuPDF reports errors with setjmp/longjmp. Every fz_try below lives in a
// small function that declares no C++ object, never returns from inside
// fz_try/fz_always, and hands back plain values; C++ code runs outside.

namespace pipeline::pdf {
namespace {

namespace fs = std::filesystem;

// Readers accept a header a little way into the file, as Acrobat does.
constexpr std::size_t k_header_window = 1024;
constexpr std::size_t k_trailer_window = 1024;
constexpr int k_title_capacity = 4096;

util::Error bad_pdf(std::string message) { return util::fail(util::ErrorKind::bad_input, std::move(message)); }

// The whole file in one read of its known size; nullopt when it cannot be read.
std::optional<std::string> read_whole_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return std::nullopt;
  const auto size = static_cast<std::size_t>(in.tellg());
  std::string bytes(size, '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) return std::nullopt;
  return bytes;
}

bool has_pdf_header(std::string_view bytes) {
  return bytes.substr(0, k_header_window).find("%PDF-") != std::string_view::npos;
}

bool has_eof_marker(std::string_view bytes) {
  const auto tail = bytes.size() > k_trailer_window ? bytes.substr(bytes.size() - k_trailer_window) : bytes;
  return tail.find("%%EOF") != std::string_view::npos;
}

pdf_document* open_pdf(fz_context* ctx, std::string_view bytes) {
  fz_stream* stream = nullptr;
  pdf_document* doc = nullptr;
  fz_var(stream);
  fz_var(doc);
  fz_try(ctx) {
    stream = fz_open_memory(ctx, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    doc = pdf_open_document_with_stream(ctx, stream);
  }
  fz_always(ctx) { fz_drop_stream(ctx, stream); }
  fz_catch(ctx) { doc = nullptr; }
  return doc;
}

// The page count, or -1 when the page tree cannot be read.
int count_pages(fz_context* ctx, pdf_document* doc) {
  int pages = -1;
  fz_var(pages);
  fz_try(ctx) { pages = pdf_count_pages(ctx, doc); }
  fz_catch(ctx) { pages = -1; }
  return pages;
}

// The title from the document information, "" when there is none.
int lookup_title(fz_context* ctx, pdf_document* doc, char* buffer, int capacity) {
  int length = -1;
  fz_var(length);
  buffer[0] = '\0';
  fz_try(ctx) { length = fz_lookup_metadata(ctx, &doc->super, FZ_META_INFO_TITLE, buffer, capacity); }
  fz_catch(ctx) { buffer[0] = '\0'; }
  return length;
}

// The structured text of one page, or nullptr when the page cannot be read.
fz_stext_page* page_text(fz_context* ctx, pdf_document* doc, int number, const fz_stext_options* options) {
  fz_page* page = nullptr;
  fz_stext_page* text = nullptr;
  fz_var(page);
  fz_var(text);
  fz_try(ctx) {
    page = fz_load_page(ctx, &doc->super, number);
    text = fz_new_stext_page_from_page(ctx, page, options);
  }
  fz_always(ctx) { fz_drop_page(ctx, page); }
  fz_catch(ctx) { text = nullptr; }
  return text;
}

void append_rune(std::string& out, int rune) {
  char utf8[FZ_UTFMAX];
  const int length = fz_runetochar(utf8, rune);
  out.append(utf8, static_cast<std::size_t>(length));
}

void trim_trailing_whitespace(std::string& text, std::size_t from) {
  std::size_t end = text.size();
  while (end > from && (text[end - 1] == ' ' || text[end - 1] == '\n' || text[end - 1] == '\t')) --end;
  text.resize(end);
}

// Appends a page's text: one line per text line, a blank line between
// blocks. Returns how many non-space characters the page holds.
std::size_t append_page_text(std::string& out, const fz_stext_page* page) {
  const std::size_t start = out.size();
  std::size_t visible = 0;
  for (const fz_stext_block* block = page->first_block; block; block = block->next) {
    if (block->type != FZ_STEXT_BLOCK_TEXT) continue;
    for (const fz_stext_line* line = block->u.t.first_line; line; line = line->next) {
      for (const fz_stext_char* ch = line->first_char; ch; ch = ch->next) {
        append_rune(out, ch->c);
        if (ch->c != ' ' && ch->c != '\t' && ch->c != 0xa0) ++visible;
      }
      trim_trailing_whitespace(out, start);
      out += '\n';
    }
    out += '\n';
  }
  trim_trailing_whitespace(out, start);
  return visible;
}

// The text of every page, or an error naming the first page that failed.
util::Expected<std::size_t> read_pages(fz_context* ctx, pdf_document* doc, int pages, const std::string& name,
                                       std::string& text) {
  fz_stext_options options{};
  options.flags = FZ_STEXT_DEHYPHENATE | FZ_STEXT_MEDIABOX_CLIP;
  std::size_t visible = 0;
  for (int number = 0; number < pages; ++number) {
    fz_stext_page* page = page_text(ctx, doc, number, &options);
    if (!page) {
      return bad_pdf(name + " is damaged: page " + std::to_string(number + 1) + " of " + std::to_string(pages) +
                       " cannot be read");
    }
    if (number > 0) text += '\f';
    visible += append_page_text(text, page);
    fz_drop_stext_page(ctx, page);
  }
  return visible;
}

// Closes the document when the extraction is done, however it ends.
struct DocumentCloser {
  fz_context* ctx;
  pdf_document* doc;
  ~DocumentCloser() { pdf_drop_document(ctx, doc); }
};

}  // namespace

std::size_t ExtractedDocument::chars() const {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

util::Expected<ExtractedDocument> extract_text(const fs::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) return bad_pdf("cannot read " + name + ": the file does not exist");
  if (fs::is_directory(status)) return bad_pdf(name + " is a directory, not a PDF file");
  const auto bytes = read_whole_file(path);
  if (!bytes) return bad_pdf("cannot read " + name + ": " + std::strerror(errno));
  const std::string& data = *bytes;
  if (data.empty()) return bad_pdf(name + " is empty (0 bytes), not a PDF");
  if (!has_pdf_header(data)) return bad_pdf(name + " is not a PDF: it does not start with a %PDF- header");

  MupdfContext mupdf;
  if (!mupdf) return util::fail(util::ErrorKind::failed, "MuPDF could not start: out of memory");
  fz_context* ctx = mupdf.get();

  pdf_document* doc = open_pdf(ctx, data);
  if (!doc) return bad_pdf(name + " is damaged or truncated: MuPDF cannot open it as a PDF");
  DocumentCloser closer{ctx, doc};

  if (pdf_needs_password(ctx, doc)) {
    return bad_pdf(name + " is encrypted with a password; decrypt it first (for example with qpdf --decrypt)");
  }
  const int pages = count_pages(ctx, doc);
  if (pages <= 0) return bad_pdf(name + " has no readable pages: it is truncated or damaged");

  ExtractedDocument document;
  document.path = name;
  document.bytes = data.size();
  document.pages = pages;
  auto visible = read_pages(ctx, doc, pages, name, document.text);
  if (!visible) return visible.error();

  if (pdf_was_repaired(ctx, doc)) {
    // MuPDF rebuilds a broken cross-reference table silently; a file that
    // also lacks its end marker was cut short, so its text is incomplete.
    if (!has_eof_marker(data)) return bad_pdf(name + " is truncated: it ends before the PDF's end marker");
    util::log_verbose(name + " has a broken cross-reference table; MuPDF repaired it");
  }
  if (*visible == 0) {
    return bad_pdf(name + " has no text layer (it is scanned or image-only); OCR is not supported");
  }

  std::string title(k_title_capacity, '\0');
  if (lookup_title(ctx, doc, title.data(), k_title_capacity) > 0) document.title = title.c_str();
  document.sha256 = util::sha256_hex(data);
  return document;
}

}  // namespace pipeline::pdf

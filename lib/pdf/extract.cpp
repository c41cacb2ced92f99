#include "lib/pdf/extract.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>

#include "lib/pdf/mupdf_context.hpp"
#include "lib/util/file_io.hpp"
#include "lib/util/log.hpp"
#include "lib/util/sha256.hpp"
#include "lib/util/text.hpp"

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
// One page may bring at most this share of the text cap in characters, and
// never less than the floor: MuPDF keeps about 75 bytes per character of a
// page until the page is done, so a page is held to ~100 MB at the default cap.
constexpr std::uint64_t k_page_share_of_cap = 16;
constexpr std::uint64_t k_page_chars_floor = 256 * 1024;
// How often the stop watcher looks at the cancel token while pages are read.
constexpr std::chrono::milliseconds k_stop_poll{50};

util::Error bad_pdf(std::string message) { return util::fail(util::ErrorKind::bad_input, std::move(message)); }

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

// A device between the interpreter and MuPDF's structured-text device that
// counts the characters it passes on and, once a page has brought more than
// its budget, passes no more and asks the interpreter to stop (the cookie's
// abort ends the content stream). The text device needs only the text calls.
struct CappedTextDevice {
  fz_device super;
  fz_device* target;
  fz_cookie* cookie;
  std::size_t budget;
  std::size_t glyphs;
  int over;
};

// Whether `text` still fits the page's budget; counts it either way.
bool capped_take(fz_device* device, const fz_text* text) {
  auto* capped = reinterpret_cast<CappedTextDevice*>(device);
  if (capped->over) return false;
  for (const fz_text_span* span = text->head; span; span = span->next) {
    capped->glyphs += static_cast<std::size_t>(span->len);
  }
  if (capped->glyphs <= capped->budget) return true;
  capped->over = 1;
  std::atomic_ref<int>(capped->cookie->abort).store(1);
  return false;
}

fz_device* capped_target(fz_device* device) { return reinterpret_cast<CappedTextDevice*>(device)->target; }

void capped_fill_text(fz_context* ctx, fz_device* device, const fz_text* text, fz_matrix ctm, fz_colorspace* space,
                      const float* color, float alpha, fz_color_params params) {
  fz_device* target = capped_target(device);
  if (capped_take(device, text) && target->fill_text) target->fill_text(ctx, target, text, ctm, space, color, alpha, params);
}

void capped_stroke_text(fz_context* ctx, fz_device* device, const fz_text* text, const fz_stroke_state* stroke,
                        fz_matrix ctm, fz_colorspace* space, const float* color, float alpha, fz_color_params params) {
  fz_device* target = capped_target(device);
  if (capped_take(device, text) && target->stroke_text) {
    target->stroke_text(ctx, target, text, stroke, ctm, space, color, alpha, params);
  }
}

void capped_clip_text(fz_context* ctx, fz_device* device, const fz_text* text, fz_matrix ctm, fz_rect scissor) {
  fz_device* target = capped_target(device);
  if (capped_take(device, text) && target->clip_text) target->clip_text(ctx, target, text, ctm, scissor);
}

void capped_clip_stroke_text(fz_context* ctx, fz_device* device, const fz_text* text, const fz_stroke_state* stroke,
                             fz_matrix ctm, fz_rect scissor) {
  fz_device* target = capped_target(device);
  if (capped_take(device, text) && target->clip_stroke_text) {
    target->clip_stroke_text(ctx, target, text, stroke, ctm, scissor);
  }
}

void capped_ignore_text(fz_context* ctx, fz_device* device, const fz_text* text, fz_matrix ctm) {
  fz_device* target = capped_target(device);
  if (capped_take(device, text) && target->ignore_text) target->ignore_text(ctx, target, text, ctm);
}

void capped_close(fz_context* ctx, fz_device* device) { fz_close_device(ctx, capped_target(device)); }

fz_device* new_capped_text_device(fz_context* ctx, fz_device* target, fz_cookie* cookie, std::size_t budget) {
  auto* capped = fz_new_derived_device(ctx, CappedTextDevice);
  capped->super.close_device = capped_close;
  capped->super.fill_text = capped_fill_text;
  capped->super.stroke_text = capped_stroke_text;
  capped->super.clip_text = capped_clip_text;
  capped->super.clip_stroke_text = capped_clip_stroke_text;
  capped->super.ignore_text = capped_ignore_text;
  capped->target = target;
  capped->cookie = cookie;
  capped->budget = budget;
  return &capped->super;
}

enum class PageRead { ok, unreadable, over_budget };

// The structured text of one page in `*out`, read until the page has brought
// more than `budget` characters or until `cookie` is aborted.
PageRead page_text(fz_context* ctx, pdf_document* doc, int number, const fz_stext_options* options,
                   std::size_t budget, fz_cookie* cookie, fz_stext_page** out) {
  fz_page* page = nullptr;
  fz_stext_page* text = nullptr;
  fz_device* stext = nullptr;
  fz_device* capped = nullptr;
  int over = 0;
  fz_var(page);
  fz_var(text);
  fz_var(stext);
  fz_var(capped);
  fz_var(over);
  fz_try(ctx) {
    page = fz_load_page(ctx, &doc->super, number);
    text = fz_new_stext_page(ctx, fz_bound_page(ctx, page));
    stext = fz_new_stext_device(ctx, text, options);
    capped = new_capped_text_device(ctx, stext, cookie, budget);
    fz_run_page_contents(ctx, page, capped, fz_identity, cookie);
    over = reinterpret_cast<CappedTextDevice*>(capped)->over;
    fz_close_device(ctx, capped);
  }
  fz_always(ctx) {
    fz_drop_device(ctx, capped);
    fz_drop_device(ctx, stext);
    fz_drop_page(ctx, page);
  }
  fz_catch(ctx) {
    fz_drop_stext_page(ctx, text);
    text = nullptr;
  }
  if (over) {
    fz_drop_stext_page(ctx, text);
    return PageRead::over_budget;
  }
  *out = text;
  return text ? PageRead::ok : PageRead::unreadable;
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

std::string text_cap_error(const std::string& name, const ExtractLimits& limits, int number, int pages) {
  return name + " holds more than " + util::megabytes_text(limits.max_text_bytes) +
         " of text, the limit of --max-text-mb: reading stopped at page " + std::to_string(number + 1) + " of " +
         std::to_string(pages) + "; pass a higher --max-text-mb (or PIPELINE_MAX_TEXT_MB) to read it";
}

// While it lives, a thread that aborts `cookie` within k_stop_poll once
// `cancel` stops, so that MuPDF's interpreter ends the page it is in (it
// checks the cookie between operators) even when the page shows no text and
// so never calls the capped device. The cookie's documented use: another
// thread sets abort while a page runs.
class ExtractStopWatcher {
 public:
  ExtractStopWatcher(fz_cookie& cookie, const util::CancelToken& cancel)
      : m_thread([this, &cookie, cancel] { watch(cookie, cancel); }) {}
  ~ExtractStopWatcher() {
    {
      std::lock_guard lock(m_mutex);
      m_done = true;
    }
    m_wake.notify_one();
    m_thread.join();
  }
  ExtractStopWatcher(const ExtractStopWatcher&) = delete;
  ExtractStopWatcher& operator=(const ExtractStopWatcher&) = delete;

 private:
  void watch(fz_cookie& cookie, const util::CancelToken& cancel) {
    std::unique_lock lock(m_mutex);
    while (!m_wake.wait_for(lock, k_stop_poll, [this] { return m_done; })) {
      if (cancel.stop_requested()) {
        std::atomic_ref<int>(cookie.abort).store(1);
        return;
      }
    }
  }

  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_done = false;
  std::thread m_thread;  // last: it starts once the members it uses exist
};

// The error for an extraction that the token stopped, in the words
// download() uses for a stopped download.
util::Error extraction_stopped(const std::string& name, util::StopReason reason) {
  if (reason == util::StopReason::deadline) {
    return util::fail(util::ErrorKind::deadline, "the time budget ran out while reading " + name);
  }
  const char* how = reason == util::StopReason::cancelled ? " cancelled" : " interrupted";
  return util::fail(util::ErrorKind::interrupted, "reading " + name + how);
}

// The text of every page, or an error naming the first page that failed or
// passed the limits, or saying that `cancel` stopped the reading.
util::Expected<std::size_t> read_pages(fz_context* ctx, pdf_document* doc, int pages, const std::string& name,
                                       const ExtractLimits& limits, const util::CancelToken& cancel,
                                       std::string& text) {
  // One cookie for the whole document: once aborted, by the watcher or by a
  // page over its budget, the reading ends.
  fz_cookie cookie{};
  ExtractStopWatcher watcher(cookie, cancel);
  fz_stext_options options{};
  options.flags = FZ_STEXT_DEHYPHENATE | FZ_STEXT_MEDIABOX_CLIP;
  const std::uint64_t page_ceiling = std::max(limits.max_text_bytes / k_page_share_of_cap, k_page_chars_floor);
  std::size_t visible = 0;
  for (int number = 0; number < pages; ++number) {
    // Every character gives at least one byte of text, so a page that brings
    // more characters than the bytes left would pass the cap.
    const std::uint64_t left = limits.max_text_bytes > text.size() ? limits.max_text_bytes - text.size() : 0;
    const auto budget = static_cast<std::size_t>(std::min(left, page_ceiling));
    if (const auto reason = cancel.stop_reason(); reason != util::StopReason::none) {
      return extraction_stopped(name, reason);
    }
    fz_stext_page* page = nullptr;
    const PageRead read = page_text(ctx, doc, number, &options, budget, &cookie, &page);
    // A page the watcher cut short is neither damaged nor complete.
    if (const auto reason = cancel.stop_reason(); reason != util::StopReason::none) {
      fz_drop_stext_page(ctx, page);
      return extraction_stopped(name, reason);
    }
    if (read == PageRead::unreadable) {
      return bad_pdf(name + " is damaged: page " + std::to_string(number + 1) + " of " + std::to_string(pages) +
                       " cannot be read");
    }
    if (read == PageRead::over_budget && budget == left) return bad_pdf(text_cap_error(name, limits, number, pages));
    if (read == PageRead::over_budget) {
      return bad_pdf(name + ": page " + std::to_string(number + 1) + " holds more than " +
                     std::to_string(page_ceiling) + " characters, more than one page may hold at --max-text-mb " +
                     util::megabytes_text(limits.max_text_bytes) +
                     "; pass a higher --max-text-mb (or PIPELINE_MAX_TEXT_MB) to read it");
    }
    if (number > 0) text += '\f';
    visible += append_page_text(text, page);
    fz_drop_stext_page(ctx, page);
    if (text.size() > limits.max_text_bytes) return bad_pdf(text_cap_error(name, limits, number, pages));
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

util::Expected<ExtractedDocument> extract_text(const fs::path& path, const ExtractLimits& limits,
                                               const util::CancelToken& cancel) {
  const std::string name = path.string();
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) return bad_pdf("cannot read " + name + ": the file does not exist");
  if (fs::is_directory(status)) return bad_pdf(name + " is a directory, not a PDF file");
  // A regular file only: a FIFO or a device (/dev/zero) is refused at once, never waited on or read without end.
  const auto bytes = util::read_file(path);
  if (!bytes) return bytes.error();
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
  if (pages > limits.max_pages) {
    return bad_pdf(name + " has " + std::to_string(pages) + " pages, more than the limit of --max-pages (" +
                   std::to_string(limits.max_pages) + "); pass a higher --max-pages (or PIPELINE_MAX_PAGES) to read it");
  }

  ExtractedDocument document;
  document.path = name;
  document.bytes = data.size();
  document.pages = pages;
  auto visible = read_pages(ctx, doc, pages, name, limits, cancel, document.text);
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

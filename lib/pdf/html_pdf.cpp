#include "lib/pdf/html_pdf.hpp"

#include <cctype>

#include "lib/pdf/mupdf_context.hpp"

extern "C" {
#include <mupdf/pdf.h>
}

// Every fz_try here declares no C++ object and does not return from inside
// the try; errors become util::Error only after fz_catch.

namespace pipeline::pdf {
namespace {

// A story that cannot place anything would otherwise ask for pages forever.
constexpr int k_max_pages = 100'000;

constexpr std::string_view k_zero_width_non_joiner = "\xE2\x80\x8C";

// Whether `html` at `at` opens the element `name` (case-insensitive), as "<style" or "<style>".
bool opens_element(std::string_view html, std::size_t at, std::string_view name) {
  if (at + 1 + name.size() > html.size() || html[at] != '<') return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(html[at + 1 + i])) != name[i]) return false;
  }
  const std::size_t after = at + 1 + name.size();
  return after == html.size() || html[after] == '>' || std::isspace(static_cast<unsigned char>(html[after])) ||
         html[after] == '/';
}

// The position just past the closing tag "</name>" from `at`, or the end.
std::size_t past_closing_tag(std::string_view html, std::size_t at, std::string_view name) {
  for (std::size_t next = html.find("</", at); next != std::string_view::npos; next = html.find("</", next + 2)) {
    bool same = next + 2 + name.size() <= html.size();
    for (std::size_t i = 0; same && i < name.size(); ++i) {
      same = std::tolower(static_cast<unsigned char>(html[next + 2 + i])) == name[i];
    }
    if (!same) continue;
    const std::size_t end = html.find('>', next);
    return end == std::string_view::npos ? html.size() : end + 1;
  }
  return html.size();
}

// Places the next part of the story on a new page; returns whether more is left.
int add_story_page(fz_context* ctx, pdf_document* doc, fz_story* story, fz_rect mediabox, fz_rect area) {
  fz_device* device = nullptr;
  pdf_obj* resources = nullptr;
  fz_buffer* contents = nullptr;
  pdf_obj* page = nullptr;
  int more = 0;
  fz_var(device);
  fz_var(resources);
  fz_var(contents);
  fz_var(page);
  fz_var(more);
  fz_try(ctx) {
    fz_rect filled;
    device = pdf_page_write(ctx, doc, mediabox, &resources, &contents);
    more = fz_place_story(ctx, story, area, &filled);
    fz_draw_story(ctx, story, device, fz_identity);
    fz_close_device(ctx, device);
    page = pdf_add_page(ctx, doc, mediabox, 0, resources, contents);
    pdf_insert_page(ctx, doc, -1, page);
  }
  fz_always(ctx) {
    pdf_drop_obj(ctx, page);
    fz_drop_buffer(ctx, contents);
    pdf_drop_obj(ctx, resources);
    fz_drop_device(ctx, device);
  }
  fz_catch(ctx) { fz_rethrow(ctx); }
  return more;
}

// Writes the document to the file `path`, or when it is null into `into`;
// returns the page count, or -1 when MuPDF failed.
int write_story(fz_context* ctx, const char* path, fz_buffer* into, const char* html, std::size_t html_size,
                const char* css, const HtmlPdfOptions& options) {
  fz_buffer* buffer = nullptr;
  fz_story* story = nullptr;
  pdf_document* doc = nullptr;
  pdf_obj* info = nullptr;
  fz_output* out = nullptr;
  int pages = 0;
  fz_var(buffer);
  fz_var(story);
  fz_var(doc);
  fz_var(info);
  fz_var(out);
  fz_var(pages);
  fz_try(ctx) {
    const fz_rect mediabox = fz_make_rect(0, 0, options.page_width, options.page_height);
    const fz_rect area = fz_make_rect(options.margin, options.margin, options.page_width - options.margin,
                                      options.page_height - options.margin);
    buffer = fz_new_buffer_from_copied_data(ctx, reinterpret_cast<const unsigned char*>(html), html_size);
    story = fz_new_story(ctx, buffer, css, options.font_size, nullptr);
    doc = pdf_create_document(ctx);
    int more = 1;
    while (more && pages < k_max_pages) {
      more = add_story_page(ctx, doc, story, mediabox, area);
      ++pages;
    }
    if (!options.title.empty() || !options.author.empty()) {
      info = pdf_add_new_dict(ctx, doc, 2);
      if (!options.title.empty()) pdf_dict_put_text_string(ctx, info, PDF_NAME(Title), options.title.c_str());
      if (!options.author.empty()) pdf_dict_put_text_string(ctx, info, PDF_NAME(Author), options.author.c_str());
      pdf_dict_put(ctx, pdf_trailer(ctx, doc), PDF_NAME(Info), info);
    }
    if (!options.language.empty()) {
      pdf_obj* catalog = pdf_dict_get(ctx, pdf_trailer(ctx, doc), PDF_NAME(Root));
      pdf_dict_put_text_string(ctx, catalog, PDF_NAME(Lang), options.language.c_str());
    }
    pdf_write_options write = pdf_default_write_options;
    write.do_compress = 1;
    write.do_compress_fonts = 1;
    write.do_garbage = 3;
    if (path) {
      pdf_save_document(ctx, doc, path, &write);
    } else {
      out = fz_new_output_with_buffer(ctx, into);
      pdf_write_document(ctx, doc, out, &write);
      fz_close_output(ctx, out);
    }
  }
  fz_always(ctx) {
    fz_drop_output(ctx, out);
    pdf_drop_obj(ctx, info);
    pdf_drop_document(ctx, doc);
    fz_drop_story(ctx, story);
    fz_drop_buffer(ctx, buffer);
  }
  fz_catch(ctx) { pages = -1; }
  return pages;
}

}  // namespace

std::string break_ligatures(std::string_view html) {
  std::string out;
  out.reserve(html.size() + html.size() / 32);
  std::size_t at = 0;
  while (at < html.size()) {
    const char c = html[at];
    if (c == '<') {
      std::size_t end = at;
      if (opens_element(html, at, "style")) {
        end = past_closing_tag(html, at, "style");
      } else if (opens_element(html, at, "script")) {
        end = past_closing_tag(html, at, "script");
      } else if (html.substr(at, 4) == "<!--") {
        const std::size_t close = html.find("-->", at);
        end = close == std::string_view::npos ? html.size() : close + 3;
      } else {
        const std::size_t close = html.find('>', at);
        end = close == std::string_view::npos ? html.size() : close + 1;
      }
      out.append(html.substr(at, end - at));
      at = end;
      continue;
    }
    if (c == '&') {
      // An entity such as "&lfloor;" keeps its name whole.
      std::size_t end = at + 1;
      while (end < html.size() && std::isalnum(static_cast<unsigned char>(html[end])) != 0) ++end;
      if (end < html.size() && html[end] == ';') ++end;
      out.append(html.substr(at, end - at));
      at = end;
      continue;
    }
    out += c;
    ++at;
    if (c == 'f' && at < html.size() && (html[at] == 'f' || html[at] == 'i' || html[at] == 'l')) {
      out += k_zero_width_non_joiner;
    }
  }
  return out;
}

util::Expected<int> write_html_pdf(const std::filesystem::path& path, std::string_view html,
                                   const HtmlPdfOptions& options) {
  MupdfContext mupdf;
  if (!mupdf) return util::fail(util::ErrorKind::failed, "MuPDF could not start: out of memory");
  const std::string file = path.string();
  const std::string text = break_ligatures(html);
  const int pages =
      write_story(mupdf.get(), file.c_str(), nullptr, text.data(), text.size(), options.css.c_str(), options);
  if (pages < 0) return util::fail(util::ErrorKind::failed, "cannot write " + file + ": " + mupdf.last_error());
  return pages;
}

util::Expected<std::string> render_html_pdf(std::string_view html, const HtmlPdfOptions& options) {
  MupdfContext mupdf;
  if (!mupdf) return util::fail(util::ErrorKind::failed, "MuPDF could not start: out of memory");
  fz_context* ctx = mupdf.get();
  fz_buffer* buffer = nullptr;
  fz_var(buffer);
  fz_try(ctx) { buffer = fz_new_buffer(ctx, 64 * 1024); }
  fz_catch(ctx) { return util::fail(util::ErrorKind::failed, "MuPDF could not start: out of memory"); }
  const std::string text = break_ligatures(html);
  const int pages = write_story(ctx, nullptr, buffer, text.data(), text.size(), options.css.c_str(), options);
  std::string bytes;
  if (pages >= 0) {
    unsigned char* data = nullptr;
    const std::size_t size = fz_buffer_storage(ctx, buffer, &data);
    bytes.assign(reinterpret_cast<const char*>(data), size);
  }
  fz_drop_buffer(ctx, buffer);
  if (pages < 0) return util::fail(util::ErrorKind::failed, "cannot lay out the PDF: " + mupdf.last_error());
  return bytes;
}

}  // namespace pipeline::pdf

#include "lib/pdf/html_pdf.hpp"

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
                const char* css, const char* title, const HtmlPdfOptions& options) {
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
    if (title[0] != '\0') {
      info = pdf_add_new_dict(ctx, doc, 1);
      pdf_dict_put_text_string(ctx, info, PDF_NAME(Title), title);
      pdf_dict_put(ctx, pdf_trailer(ctx, doc), PDF_NAME(Info), info);
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

util::Expected<int> write_html_pdf(const std::filesystem::path& path, std::string_view html,
                                   const HtmlPdfOptions& options) {
  MupdfContext mupdf;
  if (!mupdf) return util::fail(util::ErrorKind::failed, "MuPDF could not start: out of memory");
  const std::string file = path.string();
  const int pages = write_story(mupdf.get(), file.c_str(), nullptr, html.data(), html.size(), options.css.c_str(),
                                options.title.c_str(), options);
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
  const int pages = write_story(ctx, nullptr, buffer, html.data(), html.size(), options.css.c_str(),
                                options.title.c_str(), options);
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

#include "tests/support/pdf_builder.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "lib/pdf/mupdf_context.hpp"

extern "C" {
#include <mupdf/pdf.h>
}

// Every fz_try here declares no C++ object and does not return from inside
// the try; C++ errors are thrown only after fz_catch.

namespace pipeline::testing {
namespace {

constexpr float k_page_width = 595;   // A4 in points
constexpr float k_page_height = 842;

std::string escape_pdf_string(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    if (c == '(' || c == ')' || c == '\\') escaped += '\\';
    escaped += c;
  }
  return escaped;
}

// A content stream that shows each line of `text` from the top left corner.
std::string text_content(const std::string& text) {
  std::ostringstream out;
  out << "BT /F1 12 Tf 14 TL 72 770 Td\n";
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) out << "(" << escape_pdf_string(line) << ") Tj T*\n";
  out << "ET\n";
  return out.str();
}

[[noreturn]] void throw_mupdf_error(const pdf::MupdfContext& mupdf, const std::string& what) {
  throw std::runtime_error(what + ": " + mupdf.last_error());
}

pdf_write_options write_options(const PdfBuildOptions& options) {
  pdf_write_options write = pdf_default_write_options;
  write.do_compress = 1;
  write.do_garbage = 1;
  if (!options.user_password.empty() || !options.owner_password.empty()) {
    write.do_encrypt = PDF_ENCRYPT_AES_256;
    write.permissions = -1;
    std::strncpy(write.upwd_utf8, options.user_password.c_str(), sizeof write.upwd_utf8 - 1);
    std::strncpy(write.opwd_utf8, options.owner_password.c_str(), sizeof write.opwd_utf8 - 1);
  }
  return write;
}

// Adds one page whose resources name `font` as /F1 and `image` as /Im0 (either may be null).
void add_page(fz_context* ctx, pdf_document* doc, const std::string& content, pdf_obj* font, pdf_obj* image) {
  pdf_obj* resources = nullptr;
  fz_buffer* buffer = nullptr;
  pdf_obj* page = nullptr;
  fz_var(resources);
  fz_var(buffer);
  fz_var(page);
  fz_try(ctx) {
    resources = pdf_new_dict(ctx, doc, 2);
    if (font) pdf_dict_puts(ctx, pdf_dict_put_dict(ctx, resources, PDF_NAME(Font), 1), "F1", font);
    if (image) pdf_dict_puts(ctx, pdf_dict_put_dict(ctx, resources, PDF_NAME(XObject), 1), "Im0", image);
    buffer = fz_new_buffer_from_copied_data(ctx, reinterpret_cast<const unsigned char*>(content.data()),
                                            content.size());
    page = pdf_add_page(ctx, doc, fz_make_rect(0, 0, k_page_width, k_page_height), 0, resources, buffer);
    pdf_insert_page(ctx, doc, -1, page);
  }
  fz_always(ctx) {
    pdf_drop_obj(ctx, page);
    fz_drop_buffer(ctx, buffer);
    pdf_drop_obj(ctx, resources);
  }
  fz_catch(ctx) { fz_rethrow(ctx); }
}

enum class Resource { font, image, none };

// A grey gradient image, the stand-in for a scanned page.
pdf_obj* add_scan_image(fz_context* ctx, pdf_document* doc) {
  fz_pixmap* pixmap = nullptr;
  fz_image* image = nullptr;
  pdf_obj* ref = nullptr;
  fz_var(pixmap);
  fz_var(image);
  fz_var(ref);
  fz_try(ctx) {
    pixmap = fz_new_pixmap(ctx, fz_device_gray(ctx), 64, 64, nullptr, 0);
    for (int y = 0; y < 64; ++y) {
      for (int x = 0; x < 64; ++x) pixmap->samples[y * pixmap->stride + x] = static_cast<unsigned char>((x * 4) ^ (y * 2));
    }
    image = fz_new_image_from_pixmap(ctx, pixmap, nullptr);
    ref = pdf_add_image(ctx, doc, image);
  }
  fz_always(ctx) {
    fz_drop_image(ctx, image);
    fz_drop_pixmap(ctx, pixmap);
  }
  fz_catch(ctx) { fz_rethrow(ctx); }
  return ref;
}

// Writes a document whose pages have the given content streams.
void write_document(const std::string& path, const std::vector<std::string>& contents, Resource resource,
                    const PdfBuildOptions& options) {
  pdf::MupdfContext mupdf;
  if (!mupdf) throw std::runtime_error("cannot create a MuPDF context");
  fz_context* ctx = mupdf.get();
  const pdf_write_options write = write_options(options);
  pdf_document* doc = nullptr;
  fz_font* font = nullptr;
  pdf_obj* shared = nullptr;
  pdf_obj* info = nullptr;
  int failed = 0;
  fz_var(doc);
  fz_var(font);
  fz_var(shared);
  fz_var(info);
  fz_try(ctx) {
    doc = pdf_create_document(ctx);
    if (resource == Resource::font) {
      font = fz_new_base14_font(ctx, "Helvetica");
      shared = pdf_add_simple_font(ctx, doc, font, PDF_SIMPLE_ENCODING_LATIN);
    } else if (resource == Resource::image) {
      shared = add_scan_image(ctx, doc);
    }
    for (const auto& content : contents) {
      add_page(ctx, doc, content, resource == Resource::font ? shared : nullptr,
               resource == Resource::image ? shared : nullptr);
    }
    if (!options.title.empty()) {
      info = pdf_add_new_dict(ctx, doc, 1);
      pdf_dict_put_text_string(ctx, info, PDF_NAME(Title), options.title.c_str());
      pdf_dict_put(ctx, pdf_trailer(ctx, doc), PDF_NAME(Info), info);
    }
    pdf_save_document(ctx, doc, path.c_str(), &write);
  }
  fz_always(ctx) {
    pdf_drop_obj(ctx, info);
    pdf_drop_obj(ctx, shared);
    fz_drop_font(ctx, font);
    pdf_drop_document(ctx, doc);
  }
  fz_catch(ctx) { failed = 1; }
  if (failed) throw_mupdf_error(mupdf, "cannot write " + path);
}

}  // namespace

void write_text_pdf(const std::string& path, const std::vector<std::string>& pages, const PdfBuildOptions& options) {
  std::vector<std::string> contents;
  for (const auto& page : pages) contents.push_back(text_content(page));
  write_document(path, contents, Resource::font, options);
}

void write_image_only_pdf(const std::string& path, int pages) {
  std::vector<std::string> contents(static_cast<std::size_t>(pages), "q 400 0 0 560 97 141 cm /Im0 Do Q\n");
  write_document(path, contents, Resource::image, {});
}

void write_drawing_only_pdf(const std::string& path) {
  const std::string content =
      "0.9 0.4 0.1 rg 72 600 200 120 re f\n"
      "0 0 0.6 RG 4 w 300 300 m 500 500 l 500 300 l h S\n";
  write_document(path, {content}, Resource::none, {});
}

void write_dense_text_pdf(const std::string& path, int pages, std::size_t chars_per_page) {
  std::string content;
  const std::string line(100, 'd');
  for (std::size_t shown = 0; shown < chars_per_page; shown += line.size()) {
    const std::size_t take = std::min(line.size(), chars_per_page - shown);
    content += "BT /F1 1 Tf 20 20 Td (" + line.substr(0, take) + ") Tj ET\n";
  }
  write_document(path, std::vector<std::string>(static_cast<std::size_t>(pages), content), Resource::font, {});
}

void write_operator_bomb_pdf(const std::string& path, std::size_t unit_bytes, int copies) {
  std::string unit;
  while (unit.size() < unit_bytes) unit += "10 10 m 20 20 l S\n";
  pdf::MupdfContext mupdf;
  if (!mupdf) throw std::runtime_error("cannot create a MuPDF context");
  fz_context* ctx = mupdf.get();
  pdf_write_options write = write_options({});
  pdf_document* doc = nullptr;
  fz_buffer* buffer = nullptr;
  pdf_obj* stream = nullptr;
  pdf_obj* resources = nullptr;
  pdf_obj* page = nullptr;
  int failed = 0;
  fz_var(doc);
  fz_var(buffer);
  fz_var(stream);
  fz_var(resources);
  fz_var(page);
  fz_try(ctx) {
    doc = pdf_create_document(ctx);
    buffer = fz_new_buffer_from_copied_data(ctx, reinterpret_cast<const unsigned char*>(unit.data()), unit.size());
    stream = pdf_add_stream(ctx, doc, buffer, nullptr, 0);
    resources = pdf_new_dict(ctx, doc, 1);
    page = pdf_add_page(ctx, doc, fz_make_rect(0, 0, k_page_width, k_page_height), 0, resources, buffer);
    pdf_obj* contents = pdf_dict_put_array(ctx, page, PDF_NAME(Contents), copies);
    for (int copy = 0; copy < copies; ++copy) pdf_array_push(ctx, contents, stream);
    pdf_insert_page(ctx, doc, -1, page);
    pdf_save_document(ctx, doc, path.c_str(), &write);
  }
  fz_always(ctx) {
    pdf_drop_obj(ctx, page);
    pdf_drop_obj(ctx, resources);
    pdf_drop_obj(ctx, stream);
    fz_drop_buffer(ctx, buffer);
    pdf_drop_document(ctx, doc);
  }
  fz_catch(ctx) { failed = 1; }
  if (failed) throw_mupdf_error(mupdf, "cannot write " + path);
}

void write_truncated_copy(const std::string& source, const std::string& destination, double keep_fraction) {
  const std::string bytes = read_bytes(source);
  write_bytes(destination, bytes.substr(0, static_cast<std::size_t>(static_cast<double>(bytes.size()) * keep_fraction)));
}

void write_bytes(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace pipeline::testing

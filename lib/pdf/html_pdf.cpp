#include "lib/pdf/html_pdf.hpp"

#include <cctype>
#include <map>
#include <set>

#include "lib/pdf/font_subset.hpp"
#include "lib/pdf/mupdf_context.hpp"

extern "C" {
#include <mupdf/pdf.h>
}

// Every fz_try here declares no C++ object and does not return from inside
// the try; errors become util::Error only after fz_catch. C++ work (the glyph
// sets, the subsetting) happens between tries, never inside one.

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

// The glyphs that the pages draw, by font. The story holds the fonts, so the
// pointers stay good while it lives.
struct GlyphUse {
  std::map<fz_font*, std::set<unsigned>> glyphs;
  bool failed = false;
};

// A device that only notes the glyphs of the text it is shown.
struct GlyphCollector {
  fz_device super;
  GlyphUse* use;
};

void note_glyphs(fz_device* device, const fz_text* text) {
  GlyphUse& use = *reinterpret_cast<GlyphCollector*>(device)->use;
  try {
    for (const fz_text_span* span = text->head; span != nullptr; span = span->next) {
      auto& glyphs = use.glyphs[span->font];
      for (int i = 0; i < span->len; ++i) {
        if (span->items[i].gid >= 0) glyphs.insert(static_cast<unsigned>(span->items[i].gid));
      }
    }
  } catch (...) {
    use.failed = true;
  }
}

fz_device* new_glyph_collector(fz_context* ctx, GlyphUse& use) {
  auto* device = fz_new_derived_device(ctx, GlyphCollector);
  device->use = &use;
  device->super.fill_text = [](fz_context*, fz_device* dev, const fz_text* text, fz_matrix, fz_colorspace*,
                               const float*, float, fz_color_params) { note_glyphs(dev, text); };
  device->super.stroke_text = [](fz_context*, fz_device* dev, const fz_text* text, const fz_stroke_state*, fz_matrix,
                                 fz_colorspace*, const float*, float, fz_color_params) { note_glyphs(dev, text); };
  device->super.clip_text = [](fz_context*, fz_device* dev, const fz_text* text, fz_matrix, fz_rect) {
    note_glyphs(dev, text);
  };
  device->super.clip_stroke_text = [](fz_context*, fz_device* dev, const fz_text* text, const fz_stroke_state*,
                                      fz_matrix, fz_rect) { note_glyphs(dev, text); };
  device->super.ignore_text = [](fz_context*, fz_device* dev, const fz_text* text, fz_matrix) {
    note_glyphs(dev, text);
  };
  return &device->super;
}

// Places the next part of the story on a new page, noting its glyphs in
// `use`; returns whether more is left.
int add_story_page(fz_context* ctx, pdf_document* doc, fz_story* story, fz_rect mediabox, fz_rect area, GlyphUse& use) {
  fz_display_list* list = nullptr;
  fz_device* device = nullptr;
  fz_device* collector = nullptr;
  pdf_obj* resources = nullptr;
  fz_buffer* contents = nullptr;
  pdf_obj* page = nullptr;
  int more = 0;
  fz_var(list);
  fz_var(device);
  fz_var(collector);
  fz_var(resources);
  fz_var(contents);
  fz_var(page);
  fz_var(more);
  fz_try(ctx) {
    fz_rect filled;
    more = fz_place_story(ctx, story, area, &filled);
    list = fz_new_display_list(ctx, mediabox);
    device = fz_new_list_device(ctx, list);
    fz_draw_story(ctx, story, device, fz_identity);
    fz_close_device(ctx, device);
    fz_drop_device(ctx, device);
    device = nullptr;

    collector = new_glyph_collector(ctx, use);
    fz_run_display_list(ctx, list, collector, fz_identity, fz_infinite_rect, nullptr);
    fz_close_device(ctx, collector);

    device = pdf_page_write(ctx, doc, mediabox, &resources, &contents);
    fz_run_display_list(ctx, list, device, fz_identity, fz_infinite_rect, nullptr);
    fz_close_device(ctx, device);
    page = pdf_add_page(ctx, doc, mediabox, 0, resources, contents);
    pdf_insert_page(ctx, doc, -1, page);
  }
  fz_always(ctx) {
    pdf_drop_obj(ctx, page);
    fz_drop_buffer(ctx, contents);
    pdf_drop_obj(ctx, resources);
    fz_drop_device(ctx, device);
    fz_drop_device(ctx, collector);
    fz_drop_display_list(ctx, list);
  }
  fz_catch(ctx) { fz_rethrow(ctx); }
  return more;
}

// The embedded program of a font that pdf_add_cid_font wrote, its kind, and
// its descriptor; null when the font is of another make.
struct EmbeddedFont {
  pdf_obj* type0 = nullptr;
  pdf_obj* descendant = nullptr;
  pdf_obj* descriptor = nullptr;
  pdf_obj* file = nullptr;
  FontProgram program = FontProgram::sfnt;
};

// Replaces the program of `font` by `subset` and puts `tag` before its names.
void replace_font_program(fz_context* ctx, pdf_document* doc, const EmbeddedFont& font, const char* subset,
                          std::size_t size, const char* tag) {
  fz_buffer* buffer = nullptr;
  fz_var(buffer);
  fz_try(ctx) {
    buffer = fz_new_buffer_from_copied_data(ctx, reinterpret_cast<const unsigned char*>(subset), size);
    pdf_update_stream(ctx, doc, font.file, buffer, 0);
    if (pdf_dict_get(ctx, font.descriptor, PDF_NAME(FontFile2))) {
      pdf_dict_put_int(ctx, font.file, PDF_NAME(Length1), static_cast<int64_t>(size));
    }
    pdf_obj* holders[] = {font.type0, font.descendant};
    for (pdf_obj* holder : holders) {
      char name[256];
      fz_snprintf(name, sizeof name, "%s+%s", tag, pdf_dict_get_name(ctx, holder, PDF_NAME(BaseFont)));
      pdf_dict_put_name(ctx, holder, PDF_NAME(BaseFont), name);
    }
    char name[256];
    fz_snprintf(name, sizeof name, "%s+%s", tag, pdf_dict_get_name(ctx, font.descriptor, PDF_NAME(FontName)));
    pdf_dict_put_name(ctx, font.descriptor, PDF_NAME(FontName), name);
  }
  fz_always(ctx) { fz_drop_buffer(ctx, buffer); }
  fz_catch(ctx) { fz_rethrow(ctx); }
}

// Cuts every embedded font down to the glyphs the pages draw (each keeps its
// glyph ids, so no content stream changes). A font that cannot be cut stays
// whole: the PDF is larger, never wrong.
void subset_embedded_fonts(fz_context* ctx, pdf_document* doc, const GlyphUse& use) {
  if (use.failed) return;
  for (const auto& [fz_font_ptr, glyphs] : use.glyphs) {
    fz_font* const face = fz_font_ptr;
    EmbeddedFont font;
    fz_buffer* program = nullptr;
    fz_var(program);
    fz_var(font);
    fz_try(ctx) {
      // The pdf device added each font once, by its digest: asking again finds that object.
      font.type0 = pdf_add_cid_font(ctx, doc, face);
      font.descendant = pdf_array_get(ctx, pdf_dict_get(ctx, font.type0, PDF_NAME(DescendantFonts)), 0);
      font.descriptor = pdf_dict_get(ctx, font.descendant, PDF_NAME(FontDescriptor));
      if ((font.file = pdf_dict_get(ctx, font.descriptor, PDF_NAME(FontFile2)))) {
        font.program = FontProgram::sfnt;
      } else if ((font.file = pdf_dict_get(ctx, font.descriptor, PDF_NAME(FontFile3)))) {
        const bool bare = !pdf_name_eq(ctx, pdf_dict_get(ctx, font.file, PDF_NAME(Subtype)), PDF_NAME(OpenType));
        font.program = bare ? FontProgram::bare_cff : FontProgram::sfnt;
      }
      if (font.file && pdf_is_indirect(ctx, font.file)) program = pdf_load_stream(ctx, font.file);
    }
    fz_catch(ctx) {
      pdf_drop_obj(ctx, font.type0);
      continue;
    }
    if (program == nullptr) {
      pdf_drop_obj(ctx, font.type0);
      continue;
    }
    unsigned char* data = nullptr;
    const std::size_t size = fz_buffer_storage(ctx, program, &data);
    const auto subset = subset_font(std::string_view(reinterpret_cast<const char*>(data), size), font.program, glyphs,
                                    static_cast<unsigned>(face->glyph_count));
    fz_drop_buffer(ctx, program);
    if (subset && subset->size() < size) {
      const std::string tag = subset_tag(fz_font_name(ctx, face), glyphs);
      fz_try(ctx) { replace_font_program(ctx, doc, font, subset->data(), subset->size(), tag.c_str()); }
      fz_catch(ctx) {}
    }
    pdf_drop_obj(ctx, font.type0);
  }
}

// Writes the document to the file `path`, or when it is null into `into`;
// returns the page count, or -1 when MuPDF failed.
int write_story(fz_context* ctx, const char* path, fz_buffer* into, const char* html, std::size_t html_size,
                const char* css, const HtmlPdfOptions& options, GlyphUse& use) {
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
      more = add_story_page(ctx, doc, story, mediabox, area, use);
      ++pages;
    }
    if (options.subset_fonts) subset_embedded_fonts(ctx, doc, use);
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
  GlyphUse use;
  const int pages =
      write_story(mupdf.get(), file.c_str(), nullptr, text.data(), text.size(), options.css.c_str(), options, use);
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
  GlyphUse use;
  const int pages = write_story(ctx, nullptr, buffer, text.data(), text.size(), options.css.c_str(), options, use);
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

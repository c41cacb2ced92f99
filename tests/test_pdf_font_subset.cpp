#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>

#include "lib/pdf/font_subset.hpp"
#include "lib/pdf/mupdf_context.hpp"

extern "C" {
#include <mupdf/fitz.h>
}

namespace {

// A font loaded from `program` by MuPDF (FreeType), which reads a bare CFF too.
struct LoadedFont {
  LoadedFont(fz_context* ctx, const std::string& program) : m_ctx(ctx) {
    fz_try(m_ctx) {
      m_font = fz_new_font_from_memory(m_ctx, "test", reinterpret_cast<const unsigned char*>(program.data()),
                                       static_cast<int>(program.size()), 0, 0);
    }
    fz_catch(m_ctx) { m_font = nullptr; }
  }
  ~LoadedFont() { fz_drop_font(m_ctx, m_font); }
  LoadedFont(const LoadedFont&) = delete;
  LoadedFont& operator=(const LoadedFont&) = delete;

  fz_context* m_ctx;
  fz_font* m_font = nullptr;
};

// The box of the glyph's outline, empty when the glyph draws nothing.
fz_rect outline_box(fz_context* ctx, fz_font* font, int glyph) {
  fz_path* path = nullptr;
  fz_rect box = fz_empty_rect;
  fz_var(path);
  fz_var(box);
  fz_try(ctx) {
    path = fz_outline_glyph(ctx, font, glyph, fz_scale(1000, 1000));
    if (path) box = fz_bound_path(ctx, path, nullptr, fz_identity);
  }
  fz_always(ctx) { fz_drop_path(ctx, path); }
  fz_catch(ctx) { box = fz_empty_rect; }
  return box;
}

}  // namespace

TEST_CASE("subset_font keeps the outlines and ids of the glyphs asked for and empties the rest") {
  pipeline::pdf::MupdfContext mupdf;
  REQUIRE(mupdf);
  fz_context* ctx = mupdf.get();
  // MuPDF's own Charis SIL, the serif of the report PDFs: a bare CFF.
  int size = 0;
  const unsigned char* data = fz_lookup_builtin_font(ctx, "Charis SIL", 0, 0, &size);
  REQUIRE(data != nullptr);
  const std::string whole(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size));
  LoadedFont original(ctx, whole);
  REQUIRE(original.m_font != nullptr);
  const int glyph_a = fz_encode_character(ctx, original.m_font, 'a');
  const int glyph_z = fz_encode_character(ctx, original.m_font, 'z');
  REQUIRE(glyph_a > 0);
  REQUIRE(glyph_z > 0);

  const std::set<unsigned> keep = {static_cast<unsigned>(glyph_a), static_cast<unsigned>(glyph_z)};
  const auto subset = pipeline::pdf::subset_font(whole, pipeline::pdf::FontProgram::bare_cff, keep,
                                                 static_cast<unsigned>(original.m_font->glyph_count));
  REQUIRE_MESSAGE(subset.has_value(), subset.error().message);
  CHECK(subset->size() * 10 < whole.size());
  LoadedFont cut(ctx, *subset);
  REQUIRE(cut.m_font != nullptr);
  for (const int glyph : {glyph_a, glyph_z}) {
    const fz_rect before = outline_box(ctx, original.m_font, glyph);
    const fz_rect after = outline_box(ctx, cut.m_font, glyph);
    CHECK(after.x0 == doctest::Approx(before.x0));
    CHECK(after.y0 == doctest::Approx(before.y0));
    CHECK(after.x1 == doctest::Approx(before.x1));
    CHECK(after.y1 == doctest::Approx(before.y1));
    CHECK(before.x1 > before.x0);
  }
  // Each glyph not asked for below the last one kept (the cut font ends there) draws nothing, where the whole font drew.
  int emptied = 0;
  for (int glyph = 1; glyph < std::max(glyph_a, glyph_z); ++glyph) {
    if (glyph == glyph_a || glyph == glyph_z || fz_is_empty_rect(outline_box(ctx, original.m_font, glyph))) continue;
    CHECK_MESSAGE(fz_is_empty_rect(outline_box(ctx, cut.m_font, glyph)), "glyph " << glyph);
    ++emptied;
  }
  CHECK(emptied > 20);
}

TEST_CASE("subset_font refuses what is no font program") {
  const auto empty = pipeline::pdf::subset_font("", pipeline::pdf::FontProgram::sfnt, {1, 2}, 0);
  CHECK_FALSE(empty.has_value());
  const auto junk = pipeline::pdf::subset_font(std::string(400, 'x'), pipeline::pdf::FontProgram::sfnt, {1, 2}, 0);
  CHECK_FALSE(junk.has_value());
}

TEST_CASE("subset_tag is six capitals that follow the font and its glyphs") {
  const auto tag = pipeline::pdf::subset_tag("Charis SIL", {3, 4, 5});
  CHECK(tag.size() == 6);
  for (const char c : tag) CHECK((c >= 'A' && c <= 'Z'));
  CHECK(pipeline::pdf::subset_tag("Charis SIL", {3, 4, 5}) == tag);
  CHECK(pipeline::pdf::subset_tag("Charis SIL", {3, 4, 6}) != tag);
  CHECK(pipeline::pdf::subset_tag("Nimbus Sans", {3, 4, 5}) != tag);
}

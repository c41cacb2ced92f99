#pragma once

#include <set>
#include <string>
#include <string_view>

#include "lib/util/expected.hpp"

namespace pipeline::pdf {

// How a PDF holds a font program: a bare CFF (FontFile3 of subtype
// CIDFontType0C or Type1C), or a whole sfnt (TrueType in FontFile2, OpenType
// in FontFile3).
enum class FontProgram { bare_cff, sfnt };

// The font program `font` with the outlines of `glyphs` and of glyph 0 only.
// Every glyph keeps its id and the others are left empty, so text that draws
// by glyph id (as a PDF's Identity-H text does) draws the same. A bare CFF
// needs its `glyph_count`, which the CFF holds but HarfBuzz reads only from an
// sfnt; it comes back bare.
util::Expected<std::string> subset_font(std::string_view font, FontProgram program, const std::set<unsigned>& glyphs,
                                        unsigned glyph_count);

// The six capitals that name a subset of the font `name` in a PDF ("EOODIA+"
// before the name, PDF 32000-1 9.6.4), the same for the same glyphs.
std::string subset_tag(std::string_view name, const std::set<unsigned>& glyphs);

}  // namespace pipeline::pdf

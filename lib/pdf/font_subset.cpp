#include "lib/pdf/font_subset.hpp"

#include <hb-subset.h>
#include <hb.h>

#include <memory>

#include "lib/util/sha256.hpp"

namespace pipeline::pdf {
namespace {

struct BlobDrop {
  void operator()(hb_blob_t* blob) const { hb_blob_destroy(blob); }
};
struct FaceDrop {
  void operator()(hb_face_t* face) const { hb_face_destroy(face); }
};
struct InputDrop {
  void operator()(hb_subset_input_t* input) const { hb_subset_input_destroy(input); }
};
using Blob = std::unique_ptr<hb_blob_t, BlobDrop>;
using Face = std::unique_ptr<hb_face_t, FaceDrop>;

constexpr hb_tag_t k_cff_tag = HB_TAG('C', 'F', 'F', ' ');

// An sfnt around a bare CFF: the CFF table and a version 0.5 maxp, which is
// all that HarfBuzz's CFF subsetter reads.
Face face_around_cff(hb_blob_t* cff, unsigned glyph_count) {
  Face builder(hb_face_builder_create());
  const char maxp[6] = {0, 0, 0x50, 0, static_cast<char>((glyph_count >> 8) & 0xff),
                        static_cast<char>(glyph_count & 0xff)};
  Blob maxp_blob(hb_blob_create(maxp, sizeof maxp, HB_MEMORY_MODE_DUPLICATE, nullptr, nullptr));
  if (!hb_face_builder_add_table(builder.get(), k_cff_tag, cff) ||
      !hb_face_builder_add_table(builder.get(), HB_TAG('m', 'a', 'x', 'p'), maxp_blob.get())) {
    return nullptr;
  }
  Blob whole(hb_face_reference_blob(builder.get()));
  return Face(hb_face_create(whole.get(), 0));
}

}  // namespace

util::Expected<std::string> subset_font(std::string_view font, FontProgram program, const std::set<unsigned>& glyphs,
                                        unsigned glyph_count) {
  const auto failed = [](const char* why) { return util::fail(util::ErrorKind::failed, why); };
  if (font.empty()) return failed("the font program is empty");
  Blob blob(hb_blob_create_or_fail(font.data(), static_cast<unsigned>(font.size()), HB_MEMORY_MODE_READONLY, nullptr,
                                   nullptr));
  if (!blob) return failed("out of memory");
  Face source = program == FontProgram::bare_cff ? face_around_cff(blob.get(), glyph_count)
                                                 : Face(hb_face_create(blob.get(), 0));
  if (!source || hb_face_get_glyph_count(source.get()) == 0) return failed("HarfBuzz cannot read the font program");
  const unsigned count = hb_face_get_glyph_count(source.get());

  std::unique_ptr<hb_subset_input_t, InputDrop> input(hb_subset_input_create_or_fail());
  if (!input) return failed("out of memory");
  hb_set_t* keep = hb_subset_input_glyph_set(input.get());
  hb_set_add(keep, 0);
  for (const unsigned glyph : glyphs) {
    if (glyph < count) hb_set_add(keep, glyph);
  }
  hb_subset_input_set_flags(input.get(), HB_SUBSET_FLAGS_RETAIN_GIDS | HB_SUBSET_FLAGS_NOTDEF_OUTLINE);
  Face subset(hb_subset_or_fail(source.get(), input.get()));
  if (!subset) return failed("HarfBuzz could not subset the font program");

  Blob out(program == FontProgram::bare_cff ? hb_face_reference_table(subset.get(), k_cff_tag)
                                            : hb_face_reference_blob(subset.get()));
  unsigned length = 0;
  const char* data = hb_blob_get_data(out.get(), &length);
  if (data == nullptr || length == 0) return failed("the subset font program is empty");
  return std::string(data, length);
}

std::string subset_tag(std::string_view name, const std::set<unsigned>& glyphs) {
  std::string key(name);
  for (const unsigned glyph : glyphs) key += "," + std::to_string(glyph);
  const std::string digest = util::sha256_hex(key);
  std::string tag;
  for (std::size_t i = 0; i < 6; ++i) {
    tag += static_cast<char>('A' + std::stoi(digest.substr(i * 2, 2), nullptr, 16) % 26);
  }
  return tag;
}

}  // namespace pipeline::pdf

#include "lib/brand/research_file.hpp"

#include <algorithm>
#include <system_error>

#include "lib/util/file_io.hpp"
#include "lib/util/text.hpp"

namespace pipeline::brand {
namespace {

namespace fs = std::filesystem;

util::Error refuse(const std::string& message) {
  return util::fail(util::ErrorKind::bad_input, message);
}

bool is_inside(const fs::path& inner, const fs::path& outer) {
  auto [outer_end, inner_end] = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
  return outer_end == outer.end();
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    char32_t code = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code = lead & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr char32_t k_smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < k_smallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

util::Expected<std::string> read_research_file(const fs::path& profile_dir, std::string_view reference) {
  const fs::path relative{std::string(reference)};
  if (reference.empty()) return refuse("must be a non-empty relative path");
  if (relative.is_absolute() || relative.has_root_name() || relative.has_root_directory()) {
    return refuse("\"" + std::string(reference) + "\" is absolute; give a path relative to the profile's folder");
  }
  for (const auto& part : relative) {
    if (part == "..") {
      return refuse("\"" + std::string(reference) + "\" leaves the profile's folder through \"..\"");
    }
  }
  const fs::path base = profile_dir.empty() ? fs::path(".") : profile_dir;
  const fs::path full = base / relative;
  std::error_code ec;
  if (!fs::exists(full, ec)) return refuse("\"" + full.string() + "\" does not exist");
  if (!fs::is_regular_file(full, ec)) return refuse("\"" + full.string() + "\" is not a regular file");
  const auto real_base = fs::canonical(base, ec);
  const auto real_file = ec ? fs::path() : fs::canonical(full, ec);
  if (ec) return refuse("cannot resolve \"" + full.string() + "\": " + ec.message());
  if (!is_inside(real_file, real_base)) {
    return refuse("\"" + full.string() + "\" resolves to " + real_file.string() + ", outside the profile's folder");
  }
  auto text = util::read_file(full, {.max_bytes = k_max_research_bytes});
  if (!text) return refuse(text.error().message);
  if (util::is_blank(*text)) return refuse("\"" + full.string() + "\" is empty");
  if (!is_valid_utf8(*text)) return refuse("\"" + full.string() + "\" is not UTF-8 text");
  return std::move(text).value();
}

}  // namespace pipeline::brand

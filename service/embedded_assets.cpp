#include "service/embedded_assets.hpp"

#include <algorithm>

namespace pipeline::service {

std::optional<std::string_view> find_asset(std::string_view name) {
  const auto& files = embedded_assets();
  const auto found = std::find_if(files.begin(), files.end(), [&](const EmbeddedFile& file) { return file.name == name; });
  if (found == files.end()) return std::nullopt;
  return found->content;
}

}  // namespace pipeline::service

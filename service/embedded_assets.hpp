#pragma once

// The files `pipeline serve` serves as they are (service/assets: its page,
// its script and style, its OpenAPI description), compiled into the binary.

#include <optional>
#include <string_view>
#include <vector>

namespace pipeline::service {

// One file of service/assets.
struct EmbeddedFile {
  std::string_view name;
  std::string_view content;
};

// Every file of service/assets, sorted by name; generated at build time.
const std::vector<EmbeddedFile>& embedded_assets();

// The content of the asset of that file name; nullopt when there is none.
std::optional<std::string_view> find_asset(std::string_view name);

}  // namespace pipeline::service

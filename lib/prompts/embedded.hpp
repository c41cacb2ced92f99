#pragma once

#include <string_view>
#include <vector>

namespace pipeline::prompts {

// One prompt text file compiled into the binary.
struct EmbeddedFile {
  std::string_view name;
  std::string_view content;
};

// The prompt files of lib/prompts/text, sorted by name; generated at build time.
const std::vector<EmbeddedFile>& embedded_prompt_files();

}  // namespace pipeline::prompts

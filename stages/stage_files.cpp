#include "stages/stage_files.hpp"

#include <fmt/format.h>

namespace pipeline::stages {

std::string stage_file_path(const Stage& stage, std::string_view extension) {
  return fmt::format("stages/{:02}-{}.{}", stage.number(), stage.name(), extension);
}

std::string stage_heading(const Stage& stage) { return fmt::format("{}. {}", stage.number(), stage.title()); }

std::vector<RenderedFile> stage_files(const Stage& stage, const nlohmann::json& output, std::string markdown) {
  while (!markdown.empty() && markdown.back() == '\n') markdown.pop_back();
  markdown += "\n";
  return {{stage_file_path(stage, "json"), output.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"}, {stage_file_path(stage, "md"), std::move(markdown)}};
}

}  // namespace pipeline::stages

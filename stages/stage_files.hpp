#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "stages/stage.hpp"

namespace pipeline::stages {

// "stages/NN-<name>.<extension>", the path of a stage's artifact in the run.
std::string stage_file_path(const Stage& stage, std::string_view extension);

// "N. <title>", the top heading of a stage's Markdown.
std::string stage_heading(const Stage& stage);

// The two artifacts every stage writes: its output as pretty JSON and its Markdown.
std::vector<RenderedFile> stage_files(const Stage& stage, const nlohmann::json& output, std::string markdown);

}  // namespace pipeline::stages

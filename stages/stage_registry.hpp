#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "stages/stage.hpp"

namespace pipeline::stages {

// The five stages in order, numbered 1 to 5.
const std::vector<std::unique_ptr<Stage>>& all_stages();

// A stage by number ("3") or name ("lessons"); nullptr when there is none.
const Stage* find_stage(std::string_view number_or_name);

}  // namespace pipeline::stages

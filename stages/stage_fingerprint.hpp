#pragma once

#include <string>
#include <vector>

#include "lib/prompts/prompt_template.hpp"
#include "stages/stage.hpp"
#include "stages/stage_params.hpp"

namespace pipeline::stages {

// The hash (64 hex digits) of everything a stage's output depends on: the
// stage, its output schema, the text of its prompts, the values filled into
// them (document, brand, earlier outputs), its parameters with the model
// resolved, and the provider's base URL. Two runs with equal fingerprints
// may share the output; the stage cache is keyed by it.
std::string stage_fingerprint(const Stage& stage, const std::vector<prompts::PromptTemplate>& prompts,
                              const StageContext& context, const StageParams& params, const std::string& base_url);

}  // namespace pipeline::stages

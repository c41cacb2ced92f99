#pragma once

#include <string>

#include "lib/llm/chat.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "lib/util/expected.hpp"
#include "stages/stage.hpp"
#include "stages/stage_params.hpp"

namespace pipeline::stages {

// The chat request for a stage: the filled prompt, its parameters and schema.
// bad_input when the context lacks an output the stage reads or the brand it uses.
util::Expected<llm::ChatRequest> build_request(const Stage& stage, const prompts::PromptTemplate& prompt,
                                               const StageContext& context, const StageParams& params,
                                               const std::string& run_model);

}  // namespace pipeline::stages

#pragma once

#include <map>
#include <string>

#include "lib/llm/chat.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "lib/util/expected.hpp"
#include "stages/stage.hpp"
#include "stages/stage_params.hpp"

namespace pipeline::stages {

// The chat request for a stage: the filled prompt, its parameters and schema,
// whose mechanism references are limited to the mechanisms stage 1 found.
// bad_input when the context lacks an output the stage reads or the brand it uses.
util::Expected<llm::ChatRequest> build_request(const Stage& stage, const prompts::PromptTemplate& prompt,
                                               const StageContext& context, const StageParams& params,
                                               const std::string& run_model);

// A request of `stage` from one of its prompts filled with `variables`, with
// the parameters and schema as build_request sets them; for the extra requests
// of a stage that makes several (build_request checks the context, this does not).
util::Expected<llm::ChatRequest> fill_request(const Stage& stage, const prompts::PromptTemplate& prompt,
                                              const std::map<std::string, std::string>& variables,
                                              const StageParams& params, const std::string& run_model);

}  // namespace pipeline::stages

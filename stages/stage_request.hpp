#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

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

// The parameters, schema and checks below are what build_request and
// fill_request set: every request's style_check flags the banned vague words
// (stages/vague_words.hpp).

// A request of `stage` from one of its prompts filled with `variables`, with
// the parameters and schema as build_request sets them; for the extra requests
// of a stage that makes several (build_request checks the context, this does not).
util::Expected<llm::ChatRequest> fill_request(const Stage& stage, const prompts::PromptTemplate& prompt,
                                              const std::map<std::string, std::string>& variables,
                                              const StageParams& params, const std::string& run_model);

// The messages of `prompt` filled with `variables`: the system part, the user
// part, and the request part when the prompt has one. With a request part, the
// user part ends the prefix that the requests of one prompt share, so it is
// marked as a cache breakpoint. A fill error is named "<what> (<source>): ...".
util::Expected<std::vector<llm::Message>> prompt_messages(const prompts::PromptTemplate& prompt,
                                                          const std::map<std::string, std::string>& variables,
                                                          const std::string& what);

// Adds `check` to the request's contract check (`style` false) or its style
// check (`style` true): the request then fails a check when either says no,
// and the problems of both are named together.
void add_check(llm::ChatRequest& request, std::function<std::string(const nlohmann::json&)> check, bool style);

}  // namespace pipeline::stages

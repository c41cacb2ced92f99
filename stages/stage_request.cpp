#include "stages/stage_request.hpp"

#include <tuple>

#include "stages/mechanism_refs.hpp"
#include "stages/stage_registry.hpp"
#include "stages/vague_words.hpp"

namespace pipeline::stages {

util::Expected<llm::ChatRequest> build_request(const Stage& stage, const prompts::PromptTemplate& prompt,
                                               const StageContext& context, const StageParams& params,
                                               const std::string& run_model) {
  using util::ErrorKind;
  using util::fail;
  for (int number : stage.reads()) {
    if (context.outputs.count(number) == 0) {
      const Stage* earlier = find_stage(std::to_string(number));
      return fail(ErrorKind::bad_input, "stage " + std::string(stage.name()) + " needs the output of stage " +
                                            std::to_string(number) + (earlier ? " (" + std::string(earlier->name()) + ")" : ""));
    }
  }
  if (stage.uses_brand() && context.brand_text.empty()) {
    return fail(ErrorKind::bad_input, "stage " + std::string(stage.name()) + " needs the brand profile, and the run has none");
  }
  auto request = fill_request(stage, prompt, stage.prompt_variables(context), params, run_model);
  if (request && stage.number() > 1) request->schema = limit_mechanism_refs(*request->schema, found_mechanism_ids(context));
  return request;
}

util::Expected<llm::ChatRequest> fill_request(const Stage& stage, const prompts::PromptTemplate& prompt,
                                              const std::map<std::string, std::string>& variables,
                                              const StageParams& params, const std::string& run_model) {
  llm::ChatRequest request;
  request.model = params.model.empty() ? run_model : params.model;
  auto messages = prompt_messages(prompt, variables, "prompt of stage " + std::string(stage.name()));
  if (!messages) return messages.error();
  request.messages = std::move(*messages);
  request.temperature = params.temperature;
  request.max_tokens = params.max_tokens;
  request.reasoning_effort = params.reasoning_effort;
  request.requests_per_minute = params.rpm;
  request.tokens_per_minute = params.tpm;
  request.schema = stage.schema();
  request.schema_name = std::string(stage.name());
  request.style_check = vague_word_problems;
  return request;
}

util::Expected<std::vector<llm::Message>> prompt_messages(const prompts::PromptTemplate& prompt,
                                                          const std::map<std::string, std::string>& variables,
                                                          const std::string& what) {
  std::vector<llm::Message> messages;
  // A system part alone is not marked: a write costs more than it saves unless read.
  for (const auto& [role, text, shared] : {std::tuple{"system", &prompt.system, false},
                                           std::tuple{"user", &prompt.user, !prompt.request.empty()},
                                           std::tuple{"user", &prompt.request, false}}) {
    if (text == &prompt.request && text->empty()) break;
    auto filled = prompts::fill(*text, variables);
    if (!filled) return util::fail(filled.error().kind, what + " (" + prompt.source + "): " + filled.error().message);
    messages.push_back({role, std::move(*filled), shared});
  }
  return messages;
}

void add_check(llm::ChatRequest& request, std::function<std::string(const nlohmann::json&)> check, bool style) {
  auto& slot = style ? request.style_check : request.check;
  if (!slot) {
    slot = std::move(check);
    return;
  }
  slot = [first = std::move(slot), second = std::move(check)](const nlohmann::json& answer) {
    std::string problems = first(answer);
    const std::string more = second(answer);
    if (!more.empty()) problems += (problems.empty() ? "" : "; ") + more;
    return problems;
  };
}

}  // namespace pipeline::stages

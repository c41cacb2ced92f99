#include "stages/stage.hpp"

#include "stages/stage_params.hpp"
#include "stages/stage_request.hpp"
#include "stages/stage_work.hpp"

namespace pipeline::stages {

util::Expected<StageParams> stage_params_from_settings(const Stage& stage, const nlohmann::json& settings) {
  using util::ErrorKind;
  using util::fail;
  const std::string name(stage.name());
  if (!settings.is_object()) return fail(ErrorKind::bad_input, "checkpoint settings must be an object");
  auto stages = settings.find("stages");
  if (stages == settings.end()) return stage.default_params();
  if (!stages->is_object()) return fail(ErrorKind::bad_input, "checkpoint settings.stages must be an object");
  auto entry = stages->find(name);
  if (entry == stages->end()) return stage.default_params();
  return parse_stage_params(*entry, stage.default_params(), "checkpoint settings.stages." + name);
}

std::vector<std::string> Stage::prompt_names() const { return {std::string(name())}; }

util::Expected<nlohmann::json> Stage::produce(StageWork& work) const {
  auto prompt = work.prompt(std::string(name()));
  if (!prompt) return prompt.error();
  auto request = build_request(*this, *prompt, work.context(), work.params(), work.run_model());
  if (!request) return request.error();
  auto answers = work.ask({NamedRequest{"answer", std::move(*request)}});
  if (!answers) return answers.error();
  return std::move(answers->front());
}

std::vector<std::string> Stage::input_notes(const StageContext&) const { return {}; }

}  // namespace pipeline::stages

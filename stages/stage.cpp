#include "stages/stage.hpp"

#include "stages/stage_params.hpp"

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

}  // namespace pipeline::stages

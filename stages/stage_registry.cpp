#include "stages/contextualize_stage.hpp"
#include "stages/lessons_stage.hpp"
#include "stages/mechanisms_stage.hpp"
#include "stages/opportunities_stage.hpp"
#include "stages/signals_stage.hpp"
#include "stages/stage_registry.hpp"

namespace pipeline::stages {
namespace {

std::vector<std::unique_ptr<Stage>> make_stages() {
  std::vector<std::unique_ptr<Stage>> stages;
  stages.push_back(std::make_unique<MechanismsStage>());
  stages.push_back(std::make_unique<SignalsStage>());
  stages.push_back(std::make_unique<LessonsStage>());
  stages.push_back(std::make_unique<ContextualizeStage>());
  stages.push_back(std::make_unique<OpportunitiesStage>());
  return stages;
}

}  // namespace

const std::vector<std::unique_ptr<Stage>>& all_stages() {
  static const std::vector<std::unique_ptr<Stage>> stages = make_stages();
  return stages;
}

const Stage* find_stage(std::string_view number_or_name) {
  for (const auto& stage : all_stages()) {
    if (stage->name() == number_or_name || std::to_string(stage->number()) == number_or_name) return stage.get();
  }
  return nullptr;
}

}  // namespace pipeline::stages

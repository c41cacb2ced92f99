#pragma once

#include "stages/stage.hpp"

namespace pipeline::stages {

// Stage 3, general translation: the innovation stripped of brand and industry:
// jobs to be done, triggering circumstance, constraints removed with figures,
// three industries with the same problem structure, one transferable insight
// and its fit with consumer goods.
class LessonsStage final : public Stage {
 public:
  int number() const override { return 3; }
  std::string_view name() const override { return "lessons"; }
  std::string_view title() const override { return "General translation: universal lessons"; }
  std::vector<int> reads() const override { return {1, 2}; }
  bool uses_brand() const override { return false; }
  StageParams default_params() const override;
  const nlohmann::json& schema() const override;
  std::map<std::string, std::string> prompt_variables(const StageContext& context) const override;
  std::vector<RenderedFile> render(const nlohmann::json& output) const override;
};

}  // namespace pipeline::stages

#pragma once

#include "stages/stage.hpp"

namespace pipeline::stages {

// Stage 5, opportunity generation: exactly five brand-specific opportunity
// cards, one per consumer-goods pattern, with retail figures. Besides the
// stage files it renders one Markdown file per card and opportunities.json.
class OpportunitiesStage final : public Stage {
 public:
  int number() const override { return 5; }
  std::string_view name() const override { return "opportunities"; }
  std::string_view title() const override { return "Opportunity generation"; }
  std::vector<int> reads() const override { return {1, 2, 3, 4}; }
  bool uses_brand() const override { return true; }
  StageParams default_params() const override;
  const nlohmann::json& schema() const override;
  std::map<std::string, std::string> prompt_variables(const StageContext& context) const override;
  std::vector<RenderedFile> render(const nlohmann::json& output) const override;
};

}  // namespace pipeline::stages

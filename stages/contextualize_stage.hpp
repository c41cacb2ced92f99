#pragma once

#include "stages/stage.hpp"

namespace pipeline::stages {

// Stage 4, brand contextualisation: the lessons read against one brand:
// portfolio fit and gaps, competitors, the fit of every one of the five
// consumer-goods patterns (with the mechanism each builds on), explicit
// retail thresholds, the three strongest directions each scored against
// them, the claims the brand can and cannot make, its go / no-go criteria
// and launch limits (largest investment, longest time to launch),
// its permission and the main risks. Its prompt also gets {{brand_rules}},
// the feasibility rules read from the profile (stages/brand_facts.hpp).
class ContextualizeStage final : public Stage {
 public:
  int number() const override { return 4; }
  std::string_view name() const override { return "contextualize"; }
  std::string_view title() const override { return "Brand contextualisation"; }
  std::vector<int> reads() const override { return {1, 2, 3}; }
  bool uses_brand() const override { return true; }
  StageParams default_params() const override;
  const nlohmann::json& schema() const override;
  std::map<std::string, std::string> prompt_variables(const StageContext& context) const override;
  std::vector<RenderedFile> render(const nlohmann::json& output) const override;
  // One request, whose three strongest directions are held to the brand's
  // feasibility rules (style); the launch limits the profile states replace
  // the model's.
  util::Expected<nlohmann::json> produce(StageWork& work) const override;
  // Each brand fact it took from the profile's words rather than its fields.
  std::vector<std::string> input_notes(const StageContext& context) const override;
};

}  // namespace pipeline::stages

#pragma once

#include "stages/stage.hpp"

namespace pipeline::stages {

// Stage 1, input processing: the two or three mechanisms that make the
// innovation in the document work, each climbed from a concrete example to a
// transferable structure, and how strong the document's evidence is.
class MechanismsStage final : public Stage {
 public:
  int number() const override { return 1; }
  std::string_view name() const override { return "mechanisms"; }
  std::string_view title() const override { return "Input processing: mechanisms"; }
  std::vector<int> reads() const override { return {}; }
  bool uses_brand() const override { return false; }
  StageParams default_params() const override;
  const nlohmann::json& schema() const override;
  std::map<std::string, std::string> prompt_variables(const StageContext& context) const override;
  std::vector<RenderedFile> render(const nlohmann::json& output) const override;
};

}  // namespace pipeline::stages

#pragma once

#include "stages/stage.hpp"

namespace pipeline::stages {

// Stage 2, signal amplification: each mechanism classified with Doblin's Ten
// Types of Innovation, how its types reinforce each other, how defensible the
// combination is, and the wider trends and signals it rides on.
class SignalsStage final : public Stage {
 public:
  int number() const override { return 2; }
  std::string_view name() const override { return "signals"; }
  std::string_view title() const override { return "Signal amplification: innovation anatomy"; }
  std::vector<int> reads() const override { return {1}; }
  bool uses_brand() const override { return false; }
  StageParams default_params() const override;
  const nlohmann::json& schema() const override;
  std::map<std::string, std::string> prompt_variables(const StageContext& context) const override;
  std::vector<RenderedFile> render(const nlohmann::json& output) const override;
  // One request, whose answer classifies each stage 1 mechanism once, under
  // its id (an object, not a list); the program makes the list of the output,
  // in stage 1's order, and names each mechanism once in each signal.
  util::Expected<nlohmann::json> produce(StageWork& work) const override;
};

}  // namespace pipeline::stages

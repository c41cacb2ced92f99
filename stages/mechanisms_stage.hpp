#pragma once

#include "stages/stage.hpp"

namespace pipeline::stages {

// Stage 1, input processing: the one to three mechanisms that make the
// innovation in the document work, each climbed from a concrete example to a
// transferable structure, and how strong the document's evidence is. A
// document too long for one request (params.max_input_tokens) is read in
// chunks of pages whose findings one more request merges.
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
  // "mechanisms", then "mechanisms_merge" for long documents.
  std::vector<std::string> prompt_names() const override;
  // One request, part "answer", when the whole document fits the input limit.
  // Otherwise parts "chunk-1".."chunk-N", asked together, each the stage's own
  // prompt over a run of pages titled with them ("pages 3–7 of 30"), then part
  // "merge" with the chunks' answers. Only the chunk requests are held to the
  // limit: the merge request grows with the number of chunks and may pass it.
  util::Expected<nlohmann::json> produce(StageWork& work) const override;
};

}  // namespace pipeline::stages

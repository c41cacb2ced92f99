#pragma once

#include "stages/stage.hpp"

namespace pipeline::stages {

// Stage 5, opportunity generation: exactly five brand-specific opportunity
// cards, one per consumer-goods pattern, with retail figures. Besides the
// stage files it renders one Markdown file per card and opportunities.json.
// It plans five distinct concepts in one short request, then writes the five
// cards in parallel, one request each.
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
  // "opportunities" (the plan), then "opportunity_card".
  std::vector<std::string> prompt_names() const override;
  // Part "plan" (schema name "opportunities_plan"): per pattern a title,
  // a mechanism, the concept, its shopper, occasion, format, price tier and
  // brand anchor, grown from stage 4's pattern_fit; concepts sharing
  // a title, a shopper and occasion, or a format break the contract, anchors
  // that name nothing in the profile are style. Then, asked together, parts
  // "card-<pattern>" (schema name "opportunity_card"): each card written from
  // its planned concept and that concept's pattern_fit entry, seeing all
  // five, with a title no other pattern
  // planned (contract), its anchors in the profile and its feasibility within
  // the brand's facts (style; storage and channel are held by the schema).
  // Last, one check across the five cards: a card repeating an earlier one's
  // next step, buyer question or figures is asked again as part
  // "card-<pattern>-again" (repeats left after its re-asks are warnings).
  // The output is the object of the five cards.
  util::Expected<nlohmann::json> produce(StageWork& work) const override;
};

}  // namespace pipeline::stages

#include "stages/contextualize_stage.hpp"

#include "stages/markdown.hpp"
#include "stages/prompt_inputs.hpp"
#include "stages/schema_builder.hpp"
#include "stages/stage_files.hpp"
#include "stages/stage_params.hpp"
#include "stages/vocabulary.hpp"

namespace pipeline::stages {
namespace {

namespace md = markdown;

// The retail scorecard's criteria, in the order they are shown.
const std::vector<std::pair<std::string, std::string>>& scorecard_criteria() {
  static const std::vector<std::pair<std::string, std::string>> criteria = {
      {"consumer_appeal", "How strongly the brand's shoppers would want it"},
      {"shelf_differentiation", "How clearly it stands apart from what is on the shelf today"},
      {"price_acceptance", "How readily shoppers would pay a price that carries the margin"},
      {"margin_potential", "How good the margin could be for the brand and the retailer"},
      {"supply_feasibility", "How easily the brand could make and distribute it with its current assets"},
  };
  return criteria;
}

nlohmann::json make_schema() {
  using namespace schema;
  nlohmann::json scores = object({});
  for (const auto& [criterion, description] : scorecard_criteria()) {
    scores["properties"][criterion] = object({
        {"score", integer("1 (poor) to 5 (excellent)", 1, 5)},
        {"rationale", string("Why this score, for this brand", 300)},
    }, description);
    scores["required"].push_back(criterion);
  }
  const auto mechanism_id = enumeration(vocabulary::mechanism_ids(), "A stage 1 mechanism");
  const auto pattern = enumeration(vocabulary::patterns(), "One of the five consumer-goods patterns");
  return object({
      {"brand_name", string("The brand's company name as the profile gives it", 120)},
      {"portfolio_fit",
       object({
           {"fits", array(object({
                              {"product_line", string("A product or line of the brand's portfolio", 120)},
                              {"connection", string("How the mechanisms connect to it")},
                          }),
                          1, 5, "Where the mechanisms meet the current portfolio")},
           {"gaps", array(object({
                              {"gap", string("Something the portfolio lacks", 160)},
                              {"why_it_matters", string("Why that gap matters for these mechanisms")},
                          }),
                          1, 5)},
       })},
      {"competitors", array(object({
                                {"name", string("A competitor brand or company", 120)},
                                {"relevant_move", string("What it does, or could do, in this space")},
                                {"threat", enumeration(vocabulary::levels(), "How much it threatens the brand here")},
                            }),
                            1, 6)},
      {"pattern_mapping", array(object({
                                    {"mechanism_id", mechanism_id},
                                    {"pattern", pattern},
                                    {"application", string("What the mechanism becomes for this brand under the pattern")},
                                }),
                                2, 3, "For each stage 1 mechanism, the pattern that applies best")},
      {"retail_viability", object({
                               {"scores", scores},
                               {"verdict", string("The overall retail case in one or two sentences", 400)},
                           }, "A retail viability scorecard")},
      {"brand_permission", object({
                               {"has_permission_to", array(string("Something shoppers would accept from this brand", 200), 1, 5)},
                               {"lacks", array(string("A capability, credibility or asset the brand does not have", 200), 1, 5)},
                           })},
      {"strongest_directions", array(object({
                                         {"direction", string("A brand-specific direction", 160)},
                                         {"mechanism_id", mechanism_id},
                                         {"pattern", pattern},
                                         {"why_this_brand", string("Why this brand, rather than any other, should do it")},
                                     }),
                                     3, 3, "The three strongest brand-specific directions, strongest first")},
      {"risks", array(object({
                          {"risk", string("A main risk", 200)},
                          {"severity", enumeration(vocabulary::levels(), "How badly it would hurt")},
                          {"mitigation", string("How to reduce it")},
                      }),
                      2, 5)},
  });
}

std::string render_markdown(const ContextualizeStage& stage, const nlohmann::json& output) {
  std::string out = md::heading(1, stage_heading(stage));
  out += md::field("Brand", md::text(output, "brand_name"));
  const auto& fit = md::child(output, "portfolio_fit");
  out += md::heading(2, "Portfolio fit");
  std::vector<std::string> items;
  for (const auto& item : md::child(fit, "fits")) items.push_back("**" + md::text(item, "product_line") + "**: " + md::text(item, "connection"));
  out += md::bullet_list(items);
  out += md::heading(3, "Gaps");
  items.clear();
  for (const auto& item : md::child(fit, "gaps")) items.push_back("**" + md::text(item, "gap") + "**: " + md::text(item, "why_it_matters"));
  out += md::bullet_list(items);

  std::vector<std::vector<std::string>> rows;
  for (const auto& competitor : md::child(output, "competitors")) {
    rows.push_back({md::text(competitor, "name"), md::text(competitor, "relevant_move"), md::label(md::text(competitor, "threat"))});
  }
  out += md::heading(2, "Competitors");
  out += md::table({"Competitor", "Relevant move", "Threat"}, rows);

  rows.clear();
  for (const auto& mapping : md::child(output, "pattern_mapping")) {
    rows.push_back({md::text(mapping, "mechanism_id"), vocabulary::pattern_label(md::text(mapping, "pattern")),
                    md::text(mapping, "application")});
  }
  out += md::heading(2, "Consumer-goods patterns");
  out += md::table({"Mechanism", "Pattern", "Application"}, rows);

  const auto& viability = md::child(output, "retail_viability");
  const auto& scores = md::child(viability, "scores");
  rows.clear();
  for (const auto& [criterion, description] : scorecard_criteria()) {
    const auto& score = md::child(scores, criterion);
    rows.push_back({md::label(criterion), md::number(md::child(score, "score")) + " / 5", md::text(score, "rationale")});
  }
  out += md::heading(2, "Retail viability");
  out += md::table({"Criterion", "Score", "Why"}, rows);
  out += md::field("Verdict", md::text(viability, "verdict"));

  const auto& permission = md::child(output, "brand_permission");
  out += md::heading(2, "Brand permission");
  out += md::paragraph("The brand has permission to:");
  out += md::bullet_list(md::texts(permission, "has_permission_to"));
  out += md::paragraph("It lacks:");
  out += md::bullet_list(md::texts(permission, "lacks"));

  out += md::heading(2, "Strongest directions");
  items.clear();
  for (const auto& direction : md::child(output, "strongest_directions")) {
    items.push_back("**" + md::text(direction, "direction") + "** (" + vocabulary::pattern_label(md::text(direction, "pattern")) +
                    ", " + md::text(direction, "mechanism_id") + "): " + md::text(direction, "why_this_brand"));
  }
  out += md::bullet_list(items, true);

  rows.clear();
  for (const auto& risk : md::child(output, "risks")) {
    rows.push_back({md::text(risk, "risk"), md::label(md::text(risk, "severity")), md::text(risk, "mitigation")});
  }
  out += md::heading(2, "Main risks");
  out += md::table({"Risk", "Severity", "Mitigation"}, rows);
  return out;
}

}  // namespace

StageParams ContextualizeStage::default_params() const { return {0.5, 7000, {}}; }

const nlohmann::json& ContextualizeStage::schema() const {
  static const nlohmann::json schema = make_schema();
  return schema;
}

std::map<std::string, std::string> ContextualizeStage::prompt_variables(const StageContext& context) const {
  return standard_variables(*this, context);
}

std::vector<RenderedFile> ContextualizeStage::render(const nlohmann::json& output) const {
  return stage_files(*this, output, render_markdown(*this, output));
}

}  // namespace pipeline::stages

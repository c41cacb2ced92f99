#include "stages/contextualize_stage.hpp"

#include "stages/brand_facts.hpp"
#include "stages/markdown.hpp"
#include "stages/prompt_inputs.hpp"
#include "stages/schema_builder.hpp"
#include "stages/stage_files.hpp"
#include "stages/stage_params.hpp"
#include "stages/vocabulary.hpp"

namespace pipeline::stages {
namespace {

namespace md = markdown;

// Where the go / no-go criteria are set, in the order they are shown.
const std::vector<std::string>& go_no_go_areas() {
  static const std::vector<std::string> areas = {"manufacturing", "regulation", "investment"};
  return areas;
}

nlohmann::json pattern_fit_schema() {
  using namespace schema;
  nlohmann::json fit = object({}, "Every one of the five consumer-goods patterns, read for this brand");
  for (const auto& pattern : vocabulary::patterns()) {
    fit["properties"][pattern] = object({
        {"mechanism_id", enumeration(vocabulary::mechanism_ids(), "The stage 1 mechanism it builds on")},
        {"application", string("What the mechanism becomes for this brand under this pattern, naming the product line", 400)},
        {"why_this_score", string("What in the profile makes it fit well or poorly", 300)},
        {"fit_score", integer("How well the pattern fits this brand here, from the reasons: 1 (poorly) to 5 (very well)", 1, 5)},
    });
    fit["required"].push_back(pattern);
  }
  return fit;
}

nlohmann::json scorecard_schema() {
  using namespace schema;
  return object({
      {"velocity", object({
                       {"rationale", string("Comparable products of the brand or the category and their rates of sale", 300)},
                       {"expected_units_per_store_per_week", number("The rate of sale this direction would reach", 0.0)},
                   })},
      {"margin", object({
                     {"rationale", string("Cost of goods, price and the retailer's cut", 300)},
                     {"expected_gross_margin_pct", number("The brand's gross margin this direction would earn, in percent", 0.0, 100.0)},
                 })},
      {"shelf_visibility", object({
                               {"rationale", string("How it would be seen on the shelf, or why it would not", 300)},
                               {"meets_threshold", boolean("Whether it would meet the shelf-visibility threshold")},
                           })},
  }, "The direction scored against the retail thresholds");
}

nlohmann::json make_contextualize_schema() {
  using namespace schema;
  const auto mechanism_id = enumeration(vocabulary::mechanism_ids(), "A stage 1 mechanism");
  const auto pattern = enumeration(vocabulary::patterns(), "One of the five consumer-goods patterns");
  nlohmann::json go_no_go = object({}, "What must hold to go ahead, and what stops it");
  for (const auto& area : go_no_go_areas()) {
    go_no_go["properties"][area] = object({
        {"go_if", string("The condition under which the brand goes ahead", 300)},
        {"no_go_if", string("The condition that stops it", 300)},
    });
    go_no_go["required"].push_back(area);
  }
  return object({
      {"brand_name", string("The brand's company name as the profile gives it", 120)},
      {"portfolio_fit",
       object({
           {"fits", array(object({
                              {"product_line", string("A product or line of the brand's portfolio, by its name in the profile", 160)},
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
                                {"name", string("A competitor brand, product or company", 120)},
                                {"relevant_move", string("What it does, or could do, in this space")},
                                {"threat", enumeration(vocabulary::levels(), "How much it threatens the brand here")},
                            }),
                            1, 6)},
      {"pattern_fit", pattern_fit_schema()},
      {"retail_thresholds",
       object({
           {"velocity_units_per_store_per_week", number("The rate of sale a new item of this category must reach to keep its listing", 0.0)},
           {"gross_margin_pct", number("The least gross margin, in percent, the brand should accept for a new item", 0.0, 100.0)},
           {"shelf_visibility", string("What a new item needs to be seen on this shelf: facings, position, pack", 300)},
           {"basis", string("Where the thresholds come from: the research notes, the profile, or category norms as estimates", 300)},
       }, "The retail thresholds every direction is scored against")},
      {"strongest_directions", array(object({
                                         {"direction", string("A brand-specific direction", 160)},
                                         {"mechanism_id", mechanism_id},
                                         {"pattern", pattern},
                                         {"why_this_brand", string("Why this brand, rather than any other, should do it")},
                                         {"scorecard", scorecard_schema()},
                                     }),
                                     3, 3, "The three strongest brand-specific directions, strongest first")},
      {"claims", object({
                     {"can_make", array(object({
                                            {"claim", string("A claim the brand can put on pack or in selling", 200)},
                                            {"proof", string("The proof it already has: a certificate, a test, a figure from the profile", 300)},
                                        }),
                                        1, 5)},
                     {"cannot_make", array(object({
                                               {"claim", string("A claim the brand must not make", 200)},
                                               {"why_not", string("Why: no proof, regulation, or the brand's values", 300)},
                                           }),
                                           1, 5)},
                 }, "The claims the brand can and cannot make")},
      {"go_no_go", go_no_go},
      {"brand_permission", object({
                               {"has_permission_to", array(string("Something shoppers would accept from this brand", 200), 1, 5)},
                               {"lacks", array(string("A capability, credibility or asset the brand does not have", 200), 1, 5)},
                           })},
      {"risks", array(object({
                          {"risk", string("A main risk", 200)},
                          {"severity", enumeration(vocabulary::levels(), "How badly it would hurt")},
                          {"mitigation", string("How to reduce it")},
                      }),
                      2, 5)},
  });
}

// "meets" or "below" a number threshold; empty when either figure is missing.
std::string against(const nlohmann::json& expected, const nlohmann::json& threshold) {
  if (!expected.is_number() || !threshold.is_number()) return {};
  return expected.get<double>() >= threshold.get<double>() ? "meets" : "below";
}

std::string contextualize_markdown(const ContextualizeStage& stage, const nlohmann::json& output) {
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
  const auto& pattern_fit = md::child(output, "pattern_fit");
  for (const auto& pattern : vocabulary::patterns()) {
    const auto& entry = md::child(pattern_fit, pattern);
    rows.push_back({vocabulary::pattern_label(pattern), md::number(md::child(entry, "fit_score")) + " / 5",
                    md::text(entry, "mechanism_id"), md::text(entry, "application"), md::text(entry, "why_this_score")});
  }
  out += md::heading(2, "Consumer-goods patterns");
  out += md::table({"Pattern", "Fit", "Mechanism", "Application", "Why"}, rows);

  const auto& thresholds = md::child(output, "retail_thresholds");
  const auto& velocity_threshold = md::child(thresholds, "velocity_units_per_store_per_week");
  const auto& margin_threshold = md::child(thresholds, "gross_margin_pct");
  out += md::heading(2, "Retail thresholds");
  out += md::bullet_list({"Velocity: at least " + md::number(velocity_threshold, 1) + " units per store per week",
                          "Gross margin: at least " + md::number(margin_threshold, 1) + " %",
                          "Shelf visibility: " + md::text(thresholds, "shelf_visibility")});
  out += md::field("Basis", md::text(thresholds, "basis"));

  out += md::heading(2, "Strongest directions");
  int rank = 0;
  for (const auto& direction : md::child(output, "strongest_directions")) {
    out += md::heading(3, std::to_string(++rank) + ". " + md::text(direction, "direction"));
    out += md::paragraph("*" + vocabulary::pattern_label(md::text(direction, "pattern")) + "*, " +
                         md::text(direction, "mechanism_id") + ": " + md::text(direction, "why_this_brand"));
    const auto& card = md::child(direction, "scorecard");
    const auto& velocity = md::child(card, "velocity");
    const auto& margin = md::child(card, "margin");
    const auto& shelf = md::child(card, "shelf_visibility");
    const auto& expected_units = md::child(velocity, "expected_units_per_store_per_week");
    const auto& expected_margin = md::child(margin, "expected_gross_margin_pct");
    const auto& meets_shelf = md::child(shelf, "meets_threshold");
    out += md::table({"Criterion", "Threshold", "Expected", "Verdict", "Why"},
                     {{"Velocity", md::number(velocity_threshold, 1) + " units/store/week",
                       md::number(expected_units, 1) + " units/store/week", against(expected_units, velocity_threshold),
                       md::text(velocity, "rationale")},
                      {"Gross margin", md::number(margin_threshold, 1) + " %", md::number(expected_margin, 1) + " %",
                       against(expected_margin, margin_threshold), md::text(margin, "rationale")},
                      {"Shelf visibility", "as above", "",
                       meets_shelf.is_boolean() ? (meets_shelf.get<bool>() ? "meets" : "below") : "",
                       md::text(shelf, "rationale")}});
  }

  const auto& claims = md::child(output, "claims");
  out += md::heading(2, "Claims");
  rows.clear();
  for (const auto& claim : md::child(claims, "can_make")) rows.push_back({md::text(claim, "claim"), md::text(claim, "proof")});
  out += md::paragraph("The brand can claim:");
  out += md::table({"Claim", "Proof"}, rows);
  rows.clear();
  for (const auto& claim : md::child(claims, "cannot_make")) rows.push_back({md::text(claim, "claim"), md::text(claim, "why_not")});
  out += md::paragraph("It cannot claim:");
  out += md::table({"Claim", "Why not"}, rows);

  const auto& go_no_go = md::child(output, "go_no_go");
  rows.clear();
  for (const auto& area : go_no_go_areas()) {
    const auto& criteria = md::child(go_no_go, area);
    rows.push_back({md::label(area), md::text(criteria, "go_if"), md::text(criteria, "no_go_if")});
  }
  out += md::heading(2, "Go / no-go");
  out += md::table({"Area", "Go if", "No go if"}, rows);

  const auto& permission = md::child(output, "brand_permission");
  out += md::heading(2, "Brand permission");
  out += md::paragraph("The brand has permission to:");
  out += md::bullet_list(md::texts(permission, "has_permission_to"));
  out += md::paragraph("It lacks:");
  out += md::bullet_list(md::texts(permission, "lacks"));

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
  static const nlohmann::json schema = make_contextualize_schema();
  return schema;
}

std::map<std::string, std::string> ContextualizeStage::prompt_variables(const StageContext& context) const {
  auto variables = standard_variables(*this, context);
  variables["brand_rules"] = feasibility_rules(brand_facts(context.brand_profile));
  return variables;
}

std::vector<std::string> ContextualizeStage::input_notes(const StageContext& context) const {
  std::vector<std::string> notes;
  for (const auto& inferred : brand_facts(context.brand_profile).inferred) notes.push_back("brand profile: " + inferred);
  return notes;
}

std::vector<RenderedFile> ContextualizeStage::render(const nlohmann::json& output) const {
  return stage_files(*this, output, contextualize_markdown(*this, output));
}

}  // namespace pipeline::stages

#include "stages/contextualize_stage.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "stages/brand_facts.hpp"
#include "stages/card_checks.hpp"
#include "stages/markdown.hpp"
#include "stages/mechanism_refs.hpp"
#include "stages/prompt_inputs.hpp"
#include "stages/schema_builder.hpp"
#include "stages/stage_files.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_request.hpp"
#include "stages/stage_work.hpp"
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

// The schema as stage 4's request sends it: each pattern's fit and each
// area's go / no-go criteria said once, in "$defs", and referred to five and
// three times (inlined again for a provider that takes no references,
// lib/llm/schema_lowering.hpp). About 800 tokens fewer a request.
nlohmann::json with_shared_definitions(nlohmann::json schema) {
  for (const auto& [member, definition] : {std::pair{"pattern_fit", "pattern_fit_entry"}, std::pair{"go_no_go", "go_no_go_area"}}) {
    auto& properties = schema["properties"][member]["properties"];
    schema["$defs"][definition] = properties.begin().value();
    for (auto& [name, entry] : properties.items()) entry = {{"$ref", std::string("#/$defs/") + definition}};
  }
  return schema;
}

nlohmann::json make_contextualize_answer_schema() {
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
                                     3, 3,
                                     "The three strongest brand-specific directions, each on a different pattern: "
                                     "those pattern_fit scores highest. The program lists them by that score")},
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
      {"launch_limits", object({
                            {"largest_investment", number("The most the brand would invest in one new product, in its currency", 0.0)},
                            {"longest_months_to_launch", integer("The longest time from go decision to shelf it accepts, in months", 1,
                                                                 brand::k_most_months_to_launch_limit)},
                            {"basis", string("Where the limits come from: the profile, its research notes, or a default for a "
                                             "brand of its size", 300)},
                        }, "The go / no-go limits every opportunity card is held to")},
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

// The brand facts the stages held the brand to, as stage 4's output records
// them: written by the program from the profile (brand_facts), never asked.
nlohmann::json brand_facts_schema() {
  using namespace schema;
  return object({
      {"currency", nullable_string("ISO 4217 code; null when neither stated nor known from the country")},
      {"price_position", enumeration(brand::price_positions(), "The brand's price position")},
      {"channels", array(enumeration(brand::sales_channels(), "A channel"), 1, 5, "Where the brand sells")},
      {"cold_chain", boolean("Whether it makes or moves chilled or frozen goods")},
      {"current_prices", array(object({
                                   {"product", string("The profile's name of the product")},
                                   {"pack", string("Its pack")},
                                   {"price", number("Its shelf price", 0.0)},
                               }),
                               0, 100, "The current prices the profile states")},
      {"inferred", array(string("What was taken from the profile's words, and from which"), 0, 10,
                         "Each fact the profile does not state, with how it was inferred; the rest are stated")},
  }, "The brand facts the stages hold the brand to, read from the profile by the program");
}

nlohmann::json make_contextualize_schema() {
  nlohmann::json schema = make_contextualize_answer_schema();
  schema["properties"]["brand_facts"] = brand_facts_schema();
  schema["required"].push_back("brand_facts");
  auto& direction = schema["properties"]["strongest_directions"]["items"];
  direction["properties"]["fit_flag"] = schema::nullable_string(
      "Written by the program: a pattern no direction takes that pattern_fit scores higher than this one's; null when none");
  direction["required"].push_back("fit_flag");
  return schema;
}

nlohmann::json facts_json(const BrandFacts& facts) {
  nlohmann::json prices = nlohmann::json::array();
  for (const auto& price : facts.current_prices)
    prices.push_back({{"product", price.product}, {"pack", price.pack}, {"price", price.price}});
  return {{"currency", facts.currency.empty() ? nlohmann::json(nullptr) : nlohmann::json(facts.currency)},
          {"price_position", facts.price_position},
          {"channels", facts.channels},
          {"cold_chain", facts.cold_chain},
          {"current_prices", std::move(prices)},
          {"inferred", facts.inferred}};
}

// "meets" or "below" a number threshold; empty when either figure is missing.
std::string against(const nlohmann::json& expected, const nlohmann::json& threshold) {
  if (!expected.is_number() || !threshold.is_number()) return {};
  return expected.get<double>() >= threshold.get<double>() ? "meets" : "below";
}

std::string contextualize_markdown(const ContextualizeStage& stage, const nlohmann::json& output) {
  std::string out = md::heading(1, stage_heading(stage));
  out += md::field("Brand", md::text(output, "brand_name"));
  const auto& facts = md::child(output, "brand_facts");
  if (facts.is_object()) {
    out += md::heading(2, "Brand facts the stages hold it to");
    const auto inferred = md::texts(facts, "inferred");
    const auto how = [&](std::string_view fact) {
      for (const auto& line : inferred)
        if (line.rfind(fact, 0) == 0) return std::string("inferred: ") + line;
      return std::string("stated in the profile");
    };
    std::vector<std::string> channels;
    for (const auto& channel : md::texts(facts, "channels")) channels.push_back(md::label(channel));
    std::string channel_list;
    for (const auto& channel : channels) channel_list += (channel_list.empty() ? "" : ", ") + channel;
    const auto& cold = md::child(facts, "cold_chain");
    std::vector<std::string> items = {
        "Currency: " + (md::text(facts, "currency").empty() ? std::string("unknown") : md::text(facts, "currency")) + " (" +
            how("currency") + ")",
        "Price position: " + md::text(facts, "price_position") + " (" + how("price position") + ")",
        "Channels: " + channel_list + " (" + how("channels") + ")",
        std::string("Cold chain: ") + (cold.is_boolean() && cold.get<bool>() ? "yes" : "no") + " (" + how("cold chain") + ")"};
    const auto& prices = md::child(facts, "current_prices");
    if (!prices.is_array() || prices.empty()) items.push_back("Current prices: none stated (" + how("no current prices") + ")");
    for (const auto& price : prices)
      items.push_back("Current price: " + md::text(price, "product") + ", " + md::text(price, "pack") + ": " +
                      md::number(md::child(price, "price"), 2) + " (stated in the profile)");
    out += md::bullet_list(items);
  }
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
    if (!md::text(direction, "fit_flag").empty()) out += md::field("Check the fit", md::text(direction, "fit_flag"));
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
  const auto& limits = md::child(output, "launch_limits");
  if (limits.is_object()) {
    const std::string currency = md::text(md::child(output, "brand_facts"), "currency");
    out += md::bullet_list({"Largest investment in one launch: " + md::number(md::child(limits, "largest_investment")) +
                                (currency.empty() ? "" : " " + currency),
                            "Longest time to launch: " + md::number(md::child(limits, "longest_months_to_launch")) + " months"});
    out += md::field("Basis", md::text(limits, "basis"));
  }

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

// The three strongest directions held to what the brand can make and sell.
std::string directions_feasibility_problems(const nlohmann::json& answer, const BrandFacts& facts) {
  std::string problems;
  int rank = 0;
  for (const auto& direction : md::child(answer, "strongest_directions")) {
    ++rank;
    const std::string found = wording_problems(md::text(direction, "direction") + "\n" + md::text(direction, "why_this_brand"),
                                               facts, "strongest direction " + std::to_string(rank));
    add_problem(problems, found);
  }
  return problems;
}

// Two strongest directions on one pattern (contract): the three are three
// different patterns.
std::string direction_pattern_problems(const nlohmann::json& answer) {
  std::string problems;
  const auto& directions = md::child(answer, "strongest_directions");
  for (std::size_t i = 0; i < directions.size(); ++i) {
    for (std::size_t j = i + 1; j < directions.size(); ++j) {
      const std::string pattern = md::text(directions[i], "pattern");
      if (pattern.empty() || pattern != md::text(directions[j], "pattern")) continue;
      add_problem(problems, fmt::format("$.strongest_directions: directions {} and {} are both on the {} pattern; give each "
                                        "direction a pattern of its own, among those pattern_fit scores highest",
                                        i + 1, j + 1, pattern));
    }
  }
  return problems;
}

int fit_score(const nlohmann::json& output, const std::string& pattern) {
  const auto& score = md::child(md::child(md::child(output, "pattern_fit"), pattern), "fit_score");
  return score.is_number_integer() ? score.get<int>() : 0;
}

// The directions consistent with pattern_fit, by code rather than a re-ask:
// listed by their pattern's fit score, highest first (the model's order
// among equal scores); a direction whose pattern scores lower than a pattern
// no direction takes is kept and flagged in `fit_flag`, as the score and the
// choice are both the model's judgement and the reader weighs them.
nlohmann::json with_directions_by_fit(nlohmann::json output) {
  auto& directions = output["strongest_directions"];
  if (!directions.is_array()) return output;
  std::stable_sort(directions.begin(), directions.end(), [&](const nlohmann::json& a, const nlohmann::json& b) {
    return fit_score(output, md::text(a, "pattern")) > fit_score(output, md::text(b, "pattern"));
  });
  // The best-fitting pattern that no direction takes.
  std::string left_out;
  for (const auto& pattern : vocabulary::patterns()) {
    const bool taken = std::any_of(directions.begin(), directions.end(),
                                   [&](const nlohmann::json& direction) { return md::text(direction, "pattern") == pattern; });
    if (!taken && (left_out.empty() || fit_score(output, pattern) > fit_score(output, left_out))) left_out = pattern;
  }
  for (auto& direction : directions) {
    const std::string pattern = md::text(direction, "pattern");
    direction["fit_flag"] = nullptr;
    if (left_out.empty() || fit_score(output, pattern) >= fit_score(output, left_out)) continue;
    direction["fit_flag"] = fmt::format("pattern_fit scores its pattern, {}, {} of 5, below {} ({} of 5), which no direction takes",
                                        pattern, fit_score(output, pattern), left_out, fit_score(output, left_out));
  }
  return output;
}

// The launch limits the profile states replace the model's: a stated fact
// is not asked, and the basis says which came from where.
nlohmann::json with_stated_limits(nlohmann::json output, const brand::LaunchLimits& stated) {
  if (!stated.largest_investment && !stated.longest_months_to_launch) return output;
  auto& limits = output["launch_limits"];
  if (!limits.is_object()) return output;
  if (stated.largest_investment) limits["largest_investment"] = *stated.largest_investment;
  if (stated.longest_months_to_launch) limits["longest_months_to_launch"] = *stated.longest_months_to_launch;
  const std::string basis = limits.value("basis", std::string());
  limits["basis"] = stated.largest_investment && stated.longest_months_to_launch
                        ? std::string("Stated in the brand profile")
                        : std::string(stated.largest_investment ? "Largest investment" : "Longest time to launch") +
                              " stated in the brand profile; " + basis;
  return output;
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

util::Expected<nlohmann::json> ContextualizeStage::produce(StageWork& work) const {
  const BrandFacts facts = brand_facts(work.context().brand_profile);
  auto prompt = work.prompt(std::string(name()));
  if (!prompt) return prompt.error();
  auto request = build_request(*this, *prompt, work.context(), work.params(), work.run_model());
  if (!request) return request.error();
  // The model answers all but the brand facts, which the program writes.
  static const nlohmann::json answer_schema = with_shared_definitions(make_contextualize_answer_schema());
  request->schema = limit_mechanism_refs(answer_schema, found_mechanism_ids(work.context()));
  add_check(*request, [facts](const nlohmann::json& answer) { return directions_feasibility_problems(answer, facts); }, true);
  add_check(*request, direction_pattern_problems, false);
  auto answers = work.ask({NamedRequest{"answer", std::move(*request)}});
  if (!answers) return answers.error();
  nlohmann::json output = with_directions_by_fit(with_stated_limits(std::move(answers->front()), facts.launch_limits));
  output["brand_facts"] = facts_json(facts);
  return output;
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

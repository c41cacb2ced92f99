#include "stages/opportunities_stage.hpp"

#include <algorithm>
#include <functional>
#include <optional>

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

// At most eight words: one word, then up to seven more, separated by whitespace.
constexpr const char* k_title_pattern = "^\\S+(\\s+\\S+){0,7}$";

// An ISO 4217 currency code: three capital letters.
constexpr const char* k_currency_pattern = "^[A-Z]{3}$";

// A shelf price or a sales rate of zero is no plan; a cent or a hundredth of a unit is the least.
constexpr double k_least_positive_figure = 0.01;

// The prompt that writes one card from its planned concept.
constexpr const char* k_card_prompt = "opportunity_card";
// The name of stage 5's one response schema, sent with it by the six requests.
constexpr const char* k_step_schema_name = "opportunities_step";

// The stage's max_tokens caps each of its requests. A plan is five concepts
// with their anchors (about 1200 tokens of JSON), so its request takes at
// most this much: a cut-off plan fails sooner, and the spend guard reserves
// less for it.
constexpr int k_plan_max_tokens = 3000;

// A card is launched at the earliest in a quarter and at the latest in two years.
constexpr int k_least_months_to_launch = 3;
constexpr int k_most_months_to_launch = 24;

// The figures' basis starts by saying they are estimates.
constexpr const char* k_basis_pattern = "^Estimates? based on .+$";

// The three kinds of next step every card has, in the order they are shown.
const std::vector<std::pair<std::string, std::string>>& step_kinds() {
  static const std::vector<std::pair<std::string, std::string>> kinds = {
      {"production_trial", "A manufacturing or supply trial: a pilot run, a co-packer trial, a shelf-life test"},
      {"retailer_test", "A pricing, listing or shelf test with a named retailer"},
      {"claim_proof", "Substantiating a claim or an ingredient: a lab test, a certificate, a consumer test"},
  };
  return kinds;
}

const std::vector<std::string>& price_tiers() {
  static const std::vector<std::string> tiers = {"value", "mainstream", "premium"};
  return tiers;
}

const std::vector<std::string>& education_levels() {
  static const std::vector<std::string> levels = {"none", "light"};
  return levels;
}

nlohmann::json brand_anchor_schema() {
  using namespace schema;
  return object({
      {"product_line", string("The brand's existing product or line it extends, by its name in the profile", 200)},
      {"customer_segment", string("The target customer of the profile it is for, in the profile's words", 200)},
      {"capability", string("The brand's asset, channel or skill it uses (a plant, a supplier, a listing, a know-how)", 200)},
      {"competitor", string("The product or brand it takes share from", 160)},
  }, "What ties it to this brand and no other");
}

nlohmann::json step_schema(const std::string& description) {
  using namespace schema;
  return object({
      {"action", string("What to do, concretely, with whom", 240)},
      {"scale", string("How big: units, stores, shoppers or batches", 80)},
      {"timing", string("When or how long, e.g. 'in 6 weeks'", 60)},
  }, description);
}

// A card's schema. With a pattern, its "pattern" is that constant (the
// stage's output schema, one property per pattern); without, any of the five,
// so that the five card requests send one schema, byte for byte, and a
// provider can cache it with the prompt after it (card_pattern_problems checks the pattern).
nlohmann::json card_schema(const std::optional<std::string>& pattern) {
  using namespace schema;
  nlohmann::json steps = object({}, "Exactly three next steps, one of each kind");
  for (const auto& [kind, description] : step_kinds()) {
    steps["properties"][kind] = step_schema(description);
    steps["required"].push_back(kind);
  }
  return object({
      {"title", pattern_string("A title of at most eight words", k_title_pattern, 80)},
      {"pattern", pattern ? constant(*pattern, "The consumer-goods pattern of this card")
                          : enumeration(vocabulary::patterns(), "The consumer-goods pattern of this card")},
      {"mechanism_id", enumeration(vocabulary::mechanism_ids(), "The stage 1 mechanism the card builds on")},
      {"brand_anchor", brand_anchor_schema()},
      {"description",
       object({
           {"what", string("What it is, concretely: product, format, pack, ingredients or service")},
           {"who", string("Who it is for and why they would buy it, including the price point")},
           {"how_why_now", string("How the mechanism makes it work, and why now")},
       })},
      {"price_point", string("The shelf price of one pack with its size and currency, e.g. 'EUR 3.49 for 4 x 125 g'", 80)},
      {"feasibility",
       object({
           {"storage", enumeration({"ambient", "chilled", "frozen"}, "How it is kept in the store")},
           {"channel", enumeration({"store_retail", "online_retail", "foodservice", "direct_to_consumer", "subscription"},
                                   "Where it is mainly sold")},
           {"price_tier", enumeration(price_tiers(), "Its price tier against the category")},
           {"price_tier_reason", string("What earns that tier for this brand's shoppers", 300)},
           {"consumer_education", enumeration(education_levels(),
                                              "What a shopper must learn first: none (clear at a glance) or light "
                                              "(one line on the pack)")},
       }, "What the brand needs to make and sell it, within what it has")},
      {"next_steps", steps},
      {"shelf", string("One sentence on how it looks on the shelf and where it sits", 300)},
      {"buyer_questions",
       object({
           {"versus_competitor", object({
                                     {"competitor", string("The competing product or brand the buyer compares it with", 160)},
                                     {"question", string("The buyer's question about it against that competitor", 300)},
                                 })},
           {"trade_terms", string("The buyer's question about margin, velocity, space, promotion or supply", 300)},
       }, "Exactly two questions a retail buyer would ask")},
      {"retail", object({
                     {"price", number("Consumer shelf price of one pack of `price_point`, in `currency`", k_least_positive_figure)},
                     {"currency", pattern_string("ISO 4217 code of the price, e.g. EUR", k_currency_pattern, 3)},
                     {"units_per_store_per_week", number("Expected packs sold per store per week", k_least_positive_figure)},
                     {"gross_margin_pct", number("Expected gross margin for the brand, in percent", 0.0, 100.0)},
                     {"months_to_launch", integer("Months from go decision to shelf", k_least_months_to_launch, k_most_months_to_launch)},
                     {"basis", pattern_string("One line, 'Estimate based on ...': what the figures rest on (current "
                                              "prices, comparable rates of sale, category margins)",
                                              k_basis_pattern, 300)},
                 }, "Retail figures, all estimates")},
  });
}

// One planned concept: the card's working title, its mechanism, the idea in
// brief, what keeps it apart from the other four, and what ties it to the brand.
nlohmann::json concept_schema() {
  using namespace schema;
  return object({
      {"title", pattern_string("The card's title: at most eight words, naming the product", k_title_pattern, 80)},
      {"mechanism_id", enumeration(vocabulary::mechanism_ids(), "The stage 1 mechanism the concept builds on")},
      {"concept", string("One or two sentences: what it is, concretely, and for whom", 400)},
      {"shopper", string("The one shopper it is for", 160)},
      {"occasion", string("The moment it is bought or used", 160)},
      {"format", string("Its form and pack, e.g. '6 x 20 g snack pack'", 120)},
      {"price_tier", enumeration(price_tiers(), "Its price tier against the category")},
      {"brand_anchor", brand_anchor_schema()},
  });
}

// The plan: five concepts of one shape, each a reference to the "concept"
// definition of the schema's root, so that the schema says the brand's names
// once, not five times (inlined for a provider that takes no references,
// lib/llm/schema_lowering.hpp).
nlohmann::json plan_object() {
  nlohmann::json plan = schema::object({}, "Step 1: five distinct concepts, one per consumer-goods pattern");
  for (const auto& pattern : vocabulary::patterns()) {
    plan["properties"][pattern] = {{"$ref", "#/$defs/concept"}};
    plan["required"].push_back(pattern);
  }
  return plan;
}

// The one response schema of stage 5's six requests, the plan and the five
// cards, byte for byte: providers cache the schema before the messages, so
// with one schema the plan's request writes the prefix the cards read. The
// request part says which member to fill; the other is null (step_problem).
nlohmann::json make_step_schema() {
  const auto member = [](const char* definition) {
    return nlohmann::json{{"anyOf", nlohmann::json::array({{{"$ref", std::string("#/$defs/") + definition}}, {{"type", "null"}}})}};
  };
  nlohmann::json schema = schema::object({{"plan", member("plan")}, {"card", member("card")}},
                                         "Either the plan (step 1) or one card (step 2), as the request asks; the other is null");
  schema["$defs"] = {{"concept", concept_schema()}, {"plan", plan_object()}, {"card", card_schema(std::nullopt)}};
  schema["$defs"]["card"]["description"] = "Step 2: one full opportunity card, written from its concept in the plan";
  // The concepts' and the card's brand anchor, one definition: the brand's names once.
  for (const char* holder : {"concept", "card"}) {
    auto& properties = schema["$defs"][holder]["properties"];
    if (properties.contains("brand_anchor") && properties["brand_anchor"] == brand_anchor_schema())
      properties["brand_anchor"] = {{"$ref", "#/$defs/brand_anchor"}};
  }
  schema["$defs"]["brand_anchor"] = brand_anchor_schema();
  return schema;
}

nlohmann::json make_opportunities_schema() {
  nlohmann::json schema = schema::object({}, "Exactly five opportunity cards, one per consumer-goods pattern");
  for (const auto& pattern : vocabulary::patterns()) {
    schema["properties"][pattern] = card_schema(pattern);
    schema["required"].push_back(pattern);
  }
  return schema;
}

std::string card_path(size_t index, const std::string& pattern) {
  return fmt::format("cards/{}-{}.md", index + 1, vocabulary::dashed(pattern));
}

std::string price_text(const nlohmann::json& retail) {
  const auto& price = md::child(retail, "price");
  if (!price.is_number()) return {};
  return fmt::format("{:.2f} {}", price.get<double>(), md::text(retail, "currency"));
}

std::string card_markdown(const nlohmann::json& card, const std::string& pattern) {
  std::string out = md::heading(1, md::text(card, "title"));
  out += md::paragraph("*" + vocabulary::pattern_label(pattern) + "* · builds on mechanism " + md::text(card, "mechanism_id"));
  const auto& description = md::child(card, "description");
  out += md::field("What it is", md::text(description, "what"));
  out += md::field("Who it is for", md::text(description, "who"));
  out += md::field("How it works and why now", md::text(description, "how_why_now"));
  out += md::field("Price point", md::text(card, "price_point"));
  const auto& anchor = md::child(card, "brand_anchor");
  out += md::heading(2, "Why this brand");
  out += md::bullet_list({"Extends: " + md::text(anchor, "product_line"), "For: " + md::text(anchor, "customer_segment"),
                          "Uses: " + md::text(anchor, "capability"), "Takes share from: " + md::text(anchor, "competitor")});
  const auto& feasibility = md::child(card, "feasibility");
  out += md::heading(2, "Feasibility");
  out += md::bullet_list({"Storage: " + md::label(md::text(feasibility, "storage")) + "; channel: " +
                              md::label(md::text(feasibility, "channel")),
                          "Price tier: " + md::label(md::text(feasibility, "price_tier")) + ", " +
                              md::text(feasibility, "price_tier_reason"),
                          "Consumer education needed: " + md::text(feasibility, "consumer_education")});
  out += md::heading(2, "Next steps");
  std::vector<std::string> steps;
  const auto& next = md::child(card, "next_steps");
  for (const auto& [kind, description] : step_kinds()) {
    const auto& step = md::child(next, kind);
    steps.push_back("**" + md::label(kind) + "**: " + md::text(step, "action") + " (" + md::text(step, "scale") + ", " +
                    md::text(step, "timing") + ")");
  }
  out += md::bullet_list(steps, true);
  out += md::heading(2, "On the shelf");
  out += md::paragraph(md::text(card, "shelf"));
  const auto& questions = md::child(card, "buyer_questions");
  const auto& versus = md::child(questions, "versus_competitor");
  out += md::heading(2, "What a retail buyer will ask");
  out += md::bullet_list({"Against " + md::text(versus, "competitor") + ": " + md::text(versus, "question"),
                          md::text(questions, "trade_terms")});
  const auto& retail = md::child(card, "retail");
  out += md::heading(2, "Retail figures (estimates)");
  out += md::table({"Price", "Units per store per week", "Gross margin", "Months to launch"},
                   {{price_text(retail), md::number(md::child(retail, "units_per_store_per_week"), 1),
                     md::number(md::child(retail, "gross_margin_pct"), 1) + " %",
                     md::number(md::child(retail, "months_to_launch"))}});
  out += md::paragraph(md::text(retail, "basis"));
  return out;
}

std::string opportunities_markdown(const OpportunitiesStage& stage, const nlohmann::json& output) {
  std::string out = md::heading(1, stage_heading(stage));
  std::vector<std::vector<std::string>> rows;
  const auto& patterns = vocabulary::patterns();
  for (size_t i = 0; i < patterns.size(); ++i) {
    const auto& card = md::child(output, patterns[i]);
    const auto& retail = md::child(card, "retail");
    rows.push_back({std::to_string(i + 1), vocabulary::pattern_label(patterns[i]), md::text(card, "title"),
                    md::text(md::child(card, "brand_anchor"), "product_line"), price_text(retail),
                    md::number(md::child(retail, "units_per_store_per_week"), 1),
                    md::number(md::child(retail, "gross_margin_pct"), 1) + " %", md::number(md::child(retail, "months_to_launch"))});
  }
  out += md::table({"#", "Pattern", "Title", "Extends", "Price", "Units/store/week", "Gross margin", "Months to launch"}, rows);
  for (size_t i = 0; i < patterns.size(); ++i) {
    const auto& card = md::child(output, patterns[i]);
    out += md::demote_headings(fmt::format("# Card {}: ", i + 1) + card_markdown(card, patterns[i]).substr(2));
  }
  return out;
}

// Stage 5's one schema for this run: mechanism references limited to stage
// 1's, the brand anchors suggesting the profile's names.
nlohmann::json step_schema_for(const StageContext& context, const BrandFacts& facts) {
  static const nlohmann::json step_schema = make_step_schema();
  return limit_brand_refs(limit_mechanism_refs(step_schema, found_mechanism_ids(context)), facts);
}

// The shape both steps share: the member asked for is an object, the other null.
std::string step_problem(const nlohmann::json& answer, const std::string& filled, const std::string& empty) {
  const auto member = [&answer](const std::string& name) {
    return answer.is_object() && answer.contains(name) ? answer.at(name) : nlohmann::json();
  };
  std::string problems;
  if (!member(filled).is_object())
    problems = "$." + filled + ": this request asks for the " + filled + ", so `" + filled + "` is filled, not null";
  if (!member(empty).is_null())
    problems += (problems.empty() ? "" : "; ") + std::string("$.") + empty + ": this request asks for the " + filled +
                ", so `" + empty + "` is null";
  return problems;
}

// `check` run on the answer's `member`, its paths named from the answer's root.
std::function<std::string(const nlohmann::json&)> in_member(const std::string& member,
                                                           std::function<std::string(const nlohmann::json&)> check) {
  return [member, check = std::move(check)](const nlohmann::json& answer) {
    std::string problems = check(md::child(answer, member));
    for (auto at = problems.find("$."); at != std::string::npos; at = problems.find("$.", at + member.size() + 3))
      problems.replace(at, 2, "$." + member + ".");
    return problems;
  };
}

std::string json_text(const nlohmann::json& json) { return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace); }

// The plan as JSON with one concept a line: each card request sends it after
// the cached prefix, five times a run, so it carries no indentation.
std::string plan_text(const nlohmann::json& plan) {
  if (!plan.is_object()) return json_text(plan);
  std::string out = "{";
  for (const auto& [pattern, planned] : plan.items())
    out += (out.size() > 1 ? ",\n " : "\n ") + nlohmann::json(pattern).dump() + ": " +
           planned.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return out + "\n}";
}

// The card prompt's values: the stage's own and the whole plan, the same for
// the five cards; then what names this card: its pattern and the mechanism
// and price tier planned for it. Stage 4's pattern_fit is in {{contextualize}}
// once, not copied into each concept.
std::map<std::string, std::string> card_variables(const OpportunitiesStage& stage, const StageContext& context,
                                                  const nlohmann::json& plan, const std::string& pattern) {
  auto variables = stage.prompt_variables(context);
  variables["plan"] = data_block("plan", {}, plan_text(plan));
  variables["pattern"] = pattern;
  variables["pattern_label"] = vocabulary::pattern_label(pattern);
  variables["mechanism_id"] = md::text(md::child(plan, pattern), "mechanism_id");
  variables["price_tier"] = md::text(md::child(plan, pattern), "price_tier");
  return variables;
}

// What a card of `pattern` must keep of its plan, beyond the shared schema:
// its pattern (a contract), and its planned mechanism and price tier (style:
// re-asked, then kept with a warning).
std::string card_pattern_problem(const nlohmann::json& card, const std::string& pattern) {
  const std::string written = md::text(card, "pattern");
  if (written == pattern) return {};
  return "$.pattern: this is the " + pattern + " card, so its pattern is \"" + pattern + "\", not \"" + written + "\"";
}

std::string card_plan_problems(const nlohmann::json& card, const nlohmann::json& plan, const std::string& pattern) {
  const auto& planned = md::child(plan, pattern);
  std::string problems;
  const std::string mechanism = md::text(planned, "mechanism_id");
  if (!mechanism.empty() && md::text(card, "mechanism_id") != mechanism)
    problems = "$.mechanism_id: the plan builds the " + pattern + " concept on " + mechanism + ", not on " +
               md::text(card, "mechanism_id");
  const std::string tier = md::text(planned, "price_tier");
  const std::string written = md::text(md::child(card, "feasibility"), "price_tier");
  if (!tier.empty() && written != tier)
    problems += (problems.empty() ? "" : "; ") + std::string("$.feasibility.price_tier: the plan puts the ") + pattern +
                " concept at the " + tier + " tier, not " + written;
  return problems;
}

// The same card asked again after the check across the five cards found
// that it repeats another: the first answer and what it repeats are added to
// the conversation, and the new answer must not repeat the other four.
NamedRequest repeat_request(const NamedRequest& first, const nlohmann::json& card, const std::string& problem,
                            const std::map<std::string, nlohmann::json>& others) {
  NamedRequest again{first.part + "-again", first.request};
  const nlohmann::json answer = {{"plan", nullptr}, {"card", card}};
  again.request.messages.push_back({"assistant", answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
  again.request.messages.push_back(
      {"user", "Read across the five cards, this card repeats another one: " + problem +
                   " Write this card again with next steps, buyer questions and figures that belong to its own product "
                   "and no other card. Answer with the JSON object only: the whole card in `card`, and `plan` null."});
  add_check(again.request, in_member("card", [others](const nlohmann::json& card) { return repeats_against(card, others); }), true);
  return again;
}

}  // namespace

// max_tokens is per request: 4000 fits one card (about 1000 tokens of JSON)
// with room for a model that reasons first; the plan takes at most k_plan_max_tokens.
StageParams OpportunitiesStage::default_params() const { return {0.8, 4000, {}}; }

const nlohmann::json& OpportunitiesStage::schema() const {
  static const nlohmann::json schema = make_opportunities_schema();
  return schema;
}

std::map<std::string, std::string> OpportunitiesStage::prompt_variables(const StageContext& context) const {
  auto variables = standard_variables(*this, context);
  variables["brand_rules"] = feasibility_rules(brand_facts(context.brand_profile));
  return variables;
}

std::vector<std::string> OpportunitiesStage::prompt_names() const { return {std::string(name()), k_card_prompt}; }

util::Expected<nlohmann::json> OpportunitiesStage::produce(StageWork& work) const {
  const StageContext& context = work.context();
  const BrandFacts facts = brand_facts(context.brand_profile);
  auto plan_prompt = work.prompt(std::string(name()));
  if (!plan_prompt) return plan_prompt.error();
  // One schema for the plan and the five cards, byte for byte (see make_step_schema).
  const nlohmann::json shared_schema = step_schema_for(context, facts);
  StageParams plan_params = work.params();
  plan_params.max_tokens = std::min(plan_params.max_tokens, k_plan_max_tokens);
  auto plan_request = build_request(*this, *plan_prompt, context, plan_params, work.run_model());
  if (!plan_request) return plan_request.error();
  plan_request->schema = shared_schema;
  plan_request->schema_name = k_step_schema_name;
  plan_request->check = [](const nlohmann::json& answer) {
    std::string problems = step_problem(answer, "plan", "card");
    const std::string plan = problems.empty() ? in_member("plan", plan_problems)(answer) : std::string();
    return problems + (problems.empty() || plan.empty() ? "" : "; ") + plan;
  };
  add_check(*plan_request, in_member("plan", [facts](const nlohmann::json& plan) { return anchors_problems(plan, facts); }), true);
  auto planned = work.ask({NamedRequest{"plan", std::move(*plan_request)}});
  if (!planned) return planned.error();
  const nlohmann::json plan = md::child(planned->front(), "plan");

  // A card request is the plan's with opportunity_card.prompt's request part
  // in place of the plan's: the system and user parts stay the plan's.
  auto card_prompt = work.prompt(k_card_prompt);
  if (!card_prompt) return card_prompt.error();
  if (card_prompt->request.empty())
    return util::fail(util::ErrorKind::bad_input, std::string(k_card_prompt) + ".prompt (" + card_prompt->source +
                                                      ") has no request part, which stage 5 sends after the system and "
                                                      "user parts of opportunities.prompt");
  const prompts::PromptTemplate shared_card_prompt{plan_prompt->system, plan_prompt->user, card_prompt->source, card_prompt->request};
  const auto& patterns = vocabulary::patterns();
  std::vector<NamedRequest> requests;
  for (const auto& pattern : patterns) {
    auto request = fill_request(*this, shared_card_prompt, card_variables(*this, context, plan, pattern), work.params(), work.run_model());
    if (!request) return request.error();
    request->schema = shared_schema;
    request->schema_name = k_step_schema_name;
    request->check = [plan, pattern](const nlohmann::json& answer) {
      std::string problems = step_problem(answer, "card", "plan");
      if (!problems.empty()) return problems;
      problems = in_member("card", [&](const nlohmann::json& card) { return card_pattern_problem(card, pattern); })(answer);
      const std::string title = in_member("card", [&](const nlohmann::json& card) { return card_title_problem(card, plan, pattern); })(answer);
      if (!title.empty()) problems += (problems.empty() ? "" : "; ") + title;
      return problems;
    };
    add_check(*request, in_member("card", [plan, pattern](const nlohmann::json& card) { return card_plan_problems(card, plan, pattern); }), true);
    add_check(*request, in_member("card", [facts](const nlohmann::json& card) {
      std::string problems = anchors_problems(card, facts);
      const std::string feasibility = feasibility_problems(card, facts);
      if (!feasibility.empty()) problems += (problems.empty() ? "" : "; ") + feasibility;
      return problems;
    }), true);
    // Named like its file, cards/N-<pattern with dashes>.md.
    requests.push_back({"card-" + vocabulary::dashed(pattern), std::move(*request)});
  }
  // Warm, then fan out: the plan's request has completed, and written the
  // prefix the five cards share (schema, system and user parts) to the
  // provider's cache, so the five are asked at once and each reads it
  // (docs/providers.md#prompt-caching).
  auto cards = work.ask(requests);
  if (!cards) return cards.error();
  nlohmann::json output = nlohmann::json::object();
  for (size_t i = 0; i < patterns.size(); ++i) output[patterns[i]] = md::child((*cards)[i], "card");

  // One check across the five: a card that repeats an earlier one is asked again.
  const auto repeats = cross_card_repeats(output);
  if (repeats.empty()) return output;
  std::vector<NamedRequest> again;
  std::vector<std::string> again_patterns;
  for (size_t i = 0; i < patterns.size(); ++i) {
    auto repeat = repeats.find(patterns[i]);
    if (repeat == repeats.end()) continue;
    std::map<std::string, nlohmann::json> others;
    for (const auto& other : patterns)
      if (other != patterns[i]) others[other] = output[other];
    again.push_back(repeat_request(requests[i], output[patterns[i]], repeat->second, others));
    again_patterns.push_back(patterns[i]);
  }
  auto redone = work.ask(again);
  if (!redone) return redone.error();
  for (size_t i = 0; i < again_patterns.size(); ++i) output[again_patterns[i]] = md::child((*redone)[i], "card");
  return output;
}

std::vector<RenderedFile> OpportunitiesStage::render(const nlohmann::json& output) const {
  std::vector<RenderedFile> files = stage_files(*this, output, opportunities_markdown(*this, output));
  nlohmann::json opportunities = nlohmann::json::array();
  const auto& patterns = vocabulary::patterns();
  for (size_t i = 0; i < patterns.size(); ++i) {
    const auto& card = md::child(output, patterns[i]);
    opportunities.push_back(card);
    std::string markdown = card_markdown(card, patterns[i]);
    while (!markdown.empty() && markdown.back() == '\n') markdown.pop_back();
    files.push_back({card_path(i, patterns[i]), markdown + "\n"});
  }
  nlohmann::json document = {{"opportunities", std::move(opportunities)}};
  files.push_back({"opportunities.json", document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"});
  return files;
}

}  // namespace pipeline::stages

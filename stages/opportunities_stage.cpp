#include "stages/opportunities_stage.hpp"

#include <algorithm>
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
constexpr const char* k_plan_schema_name = "opportunities_plan";
constexpr const char* k_card_schema_name = "opportunity_card";

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

nlohmann::json make_plan_schema() {
  nlohmann::json schema = schema::object({}, "Five distinct concepts, one per consumer-goods pattern");
  for (const auto& pattern : vocabulary::patterns()) {
    schema["properties"][pattern] = concept_schema();
    schema["required"].push_back(pattern);
  }
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

// The plan's schema for this run: mechanism references limited to stage 1's,
// the brand anchors suggesting the profile's names.
nlohmann::json plan_schema_for(const StageContext& context, const BrandFacts& facts) {
  static const nlohmann::json plan_schema = make_plan_schema();
  return limit_brand_refs(limit_mechanism_refs(plan_schema, found_mechanism_ids(context)), facts);
}

std::string json_text(const nlohmann::json& json) { return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace); }

// The card prompt's values: the stage's own and the whole plan, the same for
// the five cards; then what names this card: its pattern and the mechanism
// and price tier planned for it. Stage 4's pattern_fit is in {{contextualize}}
// once, not copied into each concept.
std::map<std::string, std::string> card_variables(const OpportunitiesStage& stage, const StageContext& context,
                                                  const nlohmann::json& plan, const std::string& pattern) {
  auto variables = stage.prompt_variables(context);
  variables["plan"] = data_block("plan", {}, json_text(plan));
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
  again.request.messages.push_back({"assistant", card.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
  again.request.messages.push_back(
      {"user", "Read across the five cards, this card repeats another one: " + problem +
                   " Write this card again with next steps, buyer questions and figures that belong to its own product "
                   "and no other card. Answer with the whole card as the JSON object only."});
  add_check(again.request, [others](const nlohmann::json& answer) { return repeats_against(answer, others); }, true);
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
  StageParams plan_params = work.params();
  plan_params.max_tokens = std::min(plan_params.max_tokens, k_plan_max_tokens);
  auto plan_request = build_request(*this, *plan_prompt, context, plan_params, work.run_model());
  if (!plan_request) return plan_request.error();
  plan_request->schema = plan_schema_for(context, facts);
  plan_request->schema_name = k_plan_schema_name;
  plan_request->check = plan_problems;
  add_check(*plan_request, [facts](const nlohmann::json& plan) { return anchors_problems(plan, facts); }, true);
  auto planned = work.ask({NamedRequest{"plan", std::move(*plan_request)}});
  if (!planned) return planned.error();
  const nlohmann::json plan = std::move(planned->front());

  auto card_prompt = work.prompt(k_card_prompt);
  if (!card_prompt) return card_prompt.error();
  const auto& patterns = vocabulary::patterns();
  const auto mechanism_ids = found_mechanism_ids(context);
  // One schema for the five cards, byte for byte (see card_schema).
  const nlohmann::json shared_schema = limit_brand_refs(limit_mechanism_refs(card_schema(std::nullopt), mechanism_ids), facts);
  std::vector<NamedRequest> requests;
  for (const auto& pattern : patterns) {
    auto request = fill_request(*this, *card_prompt, card_variables(*this, context, plan, pattern), work.params(), work.run_model());
    if (!request) return request.error();
    request->schema = shared_schema;
    request->schema_name = k_card_schema_name;
    request->check = [plan, pattern](const nlohmann::json& card) {
      std::string problems = card_pattern_problem(card, pattern);
      const std::string title = card_title_problem(card, plan, pattern);
      if (!title.empty()) problems += (problems.empty() ? "" : "; ") + title;
      return problems;
    };
    add_check(*request, [plan, pattern](const nlohmann::json& card) { return card_plan_problems(card, plan, pattern); }, true);
    add_check(*request, [facts](const nlohmann::json& card) {
      std::string problems = anchors_problems(card, facts);
      const std::string feasibility = feasibility_problems(card, facts);
      if (!feasibility.empty()) problems += (problems.empty() ? "" : "; ") + feasibility;
      return problems;
    }, true);
    // Named like its file, cards/N-<pattern with dashes>.md.
    requests.push_back({"card-" + vocabulary::dashed(pattern), std::move(*request)});
  }
  // Warm, then fan out: the first card is asked alone, so that its request
  // has completed, and written the shared prefix to the provider's cache,
  // before the other four read it in parallel (OpenAI and Anthropic serve a
  // hit only from a request that has completed). The plan cannot warm it:
  // its schema and instructions come first and differ. This costs one card's
  // time (docs/providers.md#prompt-caching).
  auto first = work.ask({requests.front()});
  if (!first) return first.error();
  auto rest = work.ask(std::vector<NamedRequest>(requests.begin() + 1, requests.end()));
  if (!rest) return rest.error();
  nlohmann::json output = nlohmann::json::object();
  output[patterns[0]] = std::move(first->front());
  for (size_t i = 1; i < patterns.size(); ++i) output[patterns[i]] = std::move((*rest)[i - 1]);

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
  for (size_t i = 0; i < again_patterns.size(); ++i) output[again_patterns[i]] = std::move((*redone)[i]);
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

#include "stages/opportunities_stage.hpp"

#include <algorithm>
#include <functional>
#include <optional>

#include <fmt/format.h>

#include "stages/brand_facts.hpp"
#include "stages/card_assembly.hpp"
#include "stages/card_checks.hpp"
#include "stages/card_distinctness.hpp"
#include "stages/card_figures.hpp"
#include "stages/card_schema.hpp"
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

// The prompt that writes one card from its planned concept.
constexpr const char* k_card_prompt = "opportunity_card";
// The name of stage 5's one response schema, sent with it by the six requests.
constexpr const char* k_step_schema_name = "opportunities_step";

// The stage's max_tokens caps each of its requests. A plan is five concepts
// with their anchors (about 1200 tokens of JSON), so its request takes at
// most this much: a cut-off plan fails sooner, and the spend guard reserves
// less for it.
constexpr int k_plan_max_tokens = 3000;

nlohmann::json brand_anchor_schema() {
  using namespace schema;
  return object({
      {"product_line", string("The brand's existing product or line it extends, by its name in the profile", 200)},
      {"customer_segment", string("The target customer of the profile it is for, in the profile's words", 200)},
      {"capability", string("The brand's asset, channel or skill it uses (a plant, a supplier, a listing, a know-how)", 200)},
      {"competitor", string("The product or brand it takes share from", 160)},
  }, "What ties it to this brand and no other");
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
      {"format", string("Its form and pack with its size, e.g. '6 x 20 g snack pack': the card is priced per pack of it", 120)},
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
// The card is what its writer answers for this brand (card_answer_schema):
// the program adds the rest (assemble_card).
nlohmann::json make_step_schema(const BrandFacts& facts) {
  const auto member = [](const char* definition) {
    return nlohmann::json{{"anyOf", nlohmann::json::array({{{"$ref", std::string("#/$defs/") + definition}}, {{"type", "null"}}})}};
  };
  nlohmann::json schema = schema::object({{"plan", member("plan")}, {"card", member("card")}},
                                         "Either the plan (step 1) or one card (step 2), as the request asks; the other is null");
  schema["$defs"] = {{"concept", concept_schema()}, {"plan", plan_object()}, {"card", card_answer_schema(facts)}};
  schema["$defs"]["card"]["description"] = "Step 2: one full opportunity card, written from its concept in the plan";
  // The concepts' brand anchor, one definition: the brand's names once.
  schema["$defs"]["concept"]["properties"]["brand_anchor"] = {{"$ref", "#/$defs/brand_anchor"}};
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

std::string money_text(const nlohmann::json& amount, const std::string& currency) {
  if (!amount.is_number()) return {};
  return fmt::format("{:.0f}", amount.get<double>()) + (currency.empty() ? "" : " " + currency);
}

std::string card_markdown(const nlohmann::json& card, const std::string& pattern) {
  std::string out = md::heading(1, md::text(card, "title"));
  out += md::paragraph("*" + vocabulary::pattern_label(pattern) + "* · builds on mechanism " + md::text(card, "mechanism_id"));
  const auto& description = md::child(card, "description");
  out += md::field("What it is", md::text(description, "what"));
  out += md::field("Who it is for", md::text(description, "who"));
  out += md::field("How it works and why now", md::text(description, "how_why_now"));
  out += md::field("Price point", md::text(card, "price_point"));
  const auto& retail = md::child(card, "retail");
  const auto& comparable = md::child(card, "comparable");
  if (comparable.is_object()) out += md::field("Priced against", comparable_line(card));
  for (const auto& flag : md::texts(comparable, "flags")) out += md::field("Check the price", flag);
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
  out += md::heading(2, "Retail figures (estimates)");
  out += md::table({"Price", "Units per store per week", "Gross margin", "Months to launch"},
                   {{price_text(retail), md::number(md::child(retail, "units_per_store_per_week"), 1),
                     md::number(md::child(retail, "gross_margin_pct"), 1) + " %",
                     md::number(md::child(retail, "months_to_launch"))}});
  out += md::paragraph(md::text(retail, "basis"));
  if (!md::text(retail, "below_threshold_reason").empty())
    out += md::field("Below stage 4's thresholds because", md::text(retail, "below_threshold_reason"));
  const auto& launch = md::child(card, "launch");
  if (launch.is_object()) {
    const auto& investment = md::child(launch, "investment");
    const std::string currency = md::text(investment, "currency");
    const auto& equipment = md::child(launch, "new_equipment");
    const auto& needed = md::child(equipment, "needed");
    const auto& cannibalises = md::child(launch, "cannibalises");
    out += md::heading(2, "Launch");
    std::vector<std::string> items = {
        "Investment: " + money_text(md::child(investment, "low"), currency) + " to " +
            money_text(md::child(investment, "high"), currency),
        "New equipment: " + (needed.is_boolean() && needed.get<bool>() ? md::text(equipment, "what") : std::string("none")),
        "Shelf set: " + md::text(launch, "shelf_set"),
        "May take sales from " + md::text(cannibalises, "product_line") + ": " + md::text(cannibalises, "how_limited"),
        "Why the leader would not copy it within a year: " + md::text(launch, "copy_defence")};
    for (const auto& flag : md::texts(launch, "beyond_limits")) items.push_back("**Beyond the brand's limits**: " + flag);
    out += md::bullet_list(items);
  }
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
// 1's, the brand anchors suggesting the profile's names. The line an anchor
// extends and the line a launch may take sales from are one definition, so
// the schema names the brand's lines once.
nlohmann::json step_schema_for(const StageContext& context, const BrandFacts& facts) {
  nlohmann::json schema = limit_brand_refs(limit_mechanism_refs(make_step_schema(facts), found_mechanism_ids(context)), facts);
  auto& defs = schema["$defs"];
  const nlohmann::json line_ref = {{"$ref", "#/$defs/product_line"}};
  defs["product_line"] = defs["brand_anchor"]["properties"]["product_line"];
  defs["product_line"]["description"] = "A product line of the brand, by its name in the profile";
  defs["brand_anchor"]["properties"]["product_line"] = line_ref;
  defs["card"]["properties"]["launch"]["properties"]["cannibalises"]["properties"]["product_line"] = line_ref;
  return schema;
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

// The card prompt's values: the stage's own and the whole plan ({{plan}},
// for a prompt of one's own: the built-in one has the plan in the
// conversation), the same for the five cards; then what names this card: its
// pattern and the mechanism, format and price tier planned for it. Stage 4's
// pattern_fit is in {{contextualize}} once, not copied into each concept.
std::map<std::string, std::string> card_variables(const OpportunitiesStage& stage, const StageContext& context,
                                                  const nlohmann::json& plan, const std::string& pattern) {
  auto variables = stage.prompt_variables(context);
  variables["plan"] = data_block("plan", {}, json_lines(plan));
  variables["pattern"] = pattern;
  variables["pattern_label"] = vocabulary::pattern_label(pattern);
  variables["mechanism_id"] = md::text(md::child(plan, pattern), "mechanism_id");
  variables["price_tier"] = md::text(md::child(plan, pattern), "price_tier");
  variables["format"] = md::text(md::child(plan, pattern), "format");
  return variables;
}

// What the stage 5 checks read besides a card: the brand's facts, stage 4's
// retail thresholds, and the launch limits (the profile's where it states
// them, else stage 4's).
struct CardRules {
  BrandFacts facts;
  RetailThresholds thresholds;
  brand::LaunchLimits limits;
};

CardRules card_rules(const StageContext& context, const BrandFacts& facts) {
  CardRules rules{facts, {}, facts.launch_limits};
  if (auto stage4 = context.outputs.find(4); stage4 != context.outputs.end()) {
    rules.thresholds = retail_thresholds(stage4->second);
    const auto stated = launch_limits(stage4->second);
    if (!rules.limits.largest_investment) rules.limits.largest_investment = stated.largest_investment;
    if (!rules.limits.longest_months_to_launch) rules.limits.longest_months_to_launch = stated.longest_months_to_launch;
  }
  return rules;
}

// The contract of a card's answer beyond its schema: a title of its own, and
// a real currency code where the writer had to give one.
std::string card_answer_problems(const nlohmann::json& answer, const nlohmann::json& plan, const std::string& pattern,
                                 const BrandFacts& facts) {
  std::string problems = card_title_problem(answer, plan, pattern);
  if (facts.currency.empty()) {
    const std::string currency = md::text(md::child(answer, "retail"), "currency");
    if (!currency.empty() && !brand::is_currency_code(currency))
      problems += (problems.empty() ? "" : "; ") + std::string("$.retail.currency: \"") + currency +
                  "\" is not an ISO 4217 currency code";
  }
  return problems;
}

// The style of a whole card: what the brand can make and sell, its figures
// against stage 4's thresholds, and its launch. (Its price against its
// comparable is flagged on the card, not asked again: card_figures.hpp.)
std::string card_style_problems(const nlohmann::json& card, const CardRules& rules) {
  std::string problems;
  for (const auto& found : {feasibility_problems(card, rules.facts), threshold_problems(card, rules.thresholds),
                            launch_problems(card, rules.facts)})
    add_problem(problems, found);
  return problems;
}


// The same card asked again after the check across the five cards found
// that it repeats another (card_repeats): its last answer and what it
// repeats are added to its first request's conversation, and the new
// answer, made whole, must not repeat the other four, exactly or in other
// words. `part` names it ("card-<pattern>-again", "...-again-2").
NamedRequest repeat_request(const NamedRequest& first, const std::string& part, const nlohmann::json& card,
                            const std::string& problem, const std::map<std::string, nlohmann::json>& others,
                            std::function<nlohmann::json(const nlohmann::json&)> assemble) {
  NamedRequest again{part, first.request};
  const nlohmann::json answer = {{"plan", nullptr}, {"card", card}};
  again.request.messages.push_back({"assistant", answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
  again.request.messages.push_back(
      {"user", "Read across the five cards, this card repeats another one: " + problem +
                   " Write this card again with next steps, buyer questions and figures that belong to its own product "
                   "and no other card. Answer with the JSON object only: the whole card in `card`, and `plan` null."});
  add_check(again.request, in_member("card", [others, assemble](const nlohmann::json& redone) {
              return card_repeats_against(assemble(redone), others);
            }), true);
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
  add_check(*plan_request, in_member("plan", [facts](const nlohmann::json& plan) {
              std::string problems = anchors_problems(plan, facts);
              add_problem(problems, plan_feasibility_problems(plan, facts));
              add_problem(problems, plan_concept_repeats(plan));
              return problems;
            }), true);
  // The plan's conversation, which every card request continues.
  const std::vector<llm::Message> plan_messages = plan_request->messages;
  auto planned = work.ask({NamedRequest{"plan", std::move(*plan_request)}});
  if (!planned) return planned.error();
  const nlohmann::json plan = md::child(planned->front(), "plan");
  // The plan as the model's answer: the end of the prefix the five cards share.
  llm::Message plan_answer{"assistant", nlohmann::json({{"plan", plan}, {"card", nullptr}}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
  plan_answer.cache_break = true;

  // A card request continues the plan's conversation: the plan's system,
  // user and request parts, the plan as the model answered it, then
  // opportunity_card.prompt's request part.
  auto card_prompt = work.prompt(k_card_prompt);
  if (!card_prompt) return card_prompt.error();
  if (card_prompt->request.empty())
    return util::fail(util::ErrorKind::bad_input, std::string(k_card_prompt) + ".prompt (" + card_prompt->source +
                                                      ") has no request part, which stage 5 sends after the system and "
                                                      "user parts of opportunities.prompt");
  const prompts::PromptTemplate shared_card_prompt{plan_prompt->system, plan_prompt->user, card_prompt->source, card_prompt->request};
  const auto& patterns = vocabulary::patterns();
  const CardRules rules = card_rules(context, facts);
  // The whole card of `pattern` from its writer's answer (assemble_card).
  const auto assembler = [plan, rules](const std::string& pattern) {
    return [planned = md::child(plan, pattern), pattern, rules](const nlohmann::json& answer) {
      return assemble_card(answer, pattern, planned, rules.facts, rules.limits);
    };
  };
  std::vector<NamedRequest> requests;
  for (const auto& pattern : patterns) {
    auto request = fill_request(*this, shared_card_prompt, card_variables(*this, context, plan, pattern), work.params(), work.run_model());
    if (!request) return request.error();
    const llm::Message own = request->messages.back();
    request->messages = plan_messages;
    request->messages.push_back(plan_answer);
    request->messages.push_back(own);
    request->schema = shared_schema;
    request->schema_name = k_step_schema_name;
    request->check = [plan, pattern, facts](const nlohmann::json& answer) {
      std::string problems = step_problem(answer, "card", "plan");
      if (!problems.empty()) return problems;
      return in_member("card", [&](const nlohmann::json& card) { return card_answer_problems(card, plan, pattern, facts); })(answer);
    };
    add_check(*request, in_member("card", [assemble = assembler(pattern), rules](const nlohmann::json& card) {
                return card_style_problems(assemble(card), rules);
              }), true);
    // Named like its file, cards/N-<pattern with dashes>.md.
    requests.push_back({"card-" + vocabulary::dashed(pattern), std::move(*request)});
  }
  // Warm, then fan out: the plan's request has written the schema, system
  // and user parts to the provider's cache; the first card, asked alone,
  // reads them and writes the plan after them; the other four, asked at
  // once, read all of it. A provider is taken to serve a prefix only from a
  // request that has completed (as the fake server simulates), so this
  // costs one card's time (docs/providers.md#prompt-caching).
  auto first = work.ask({requests.front()});
  if (!first) return first.error();
  auto rest = work.ask(std::vector<NamedRequest>(requests.begin() + 1, requests.end()));
  if (!rest) return rest.error();
  std::map<std::string, nlohmann::json> answers;
  nlohmann::json output = nlohmann::json::object();
  for (size_t i = 0; i < patterns.size(); ++i) {
    answers[patterns[i]] = md::child(i == 0 ? first->front() : (*rest)[i - 1], "card");
    output[patterns[i]] = assembler(patterns[i])(answers[patterns[i]]);
  }

  // One check across the five: a card that repeats an earlier one, exactly
  // or in other words, is asked again; then the five once more (no third round).
  const auto round = [&](const std::string& suffix) {
    return RepeatRound{[&, suffix](const std::string& pattern, const std::string& problem,
                                   const std::map<std::string, nlohmann::json>& others) {
                         const auto at = std::find(patterns.begin(), patterns.end(), pattern) - patterns.begin();
                         return repeat_request(requests[at], requests[at].part + suffix, answers[pattern], problem,
                                               others, assembler(pattern));
                       },
                       [&](const std::string& pattern, const nlohmann::json& answer) {
                         answers[pattern] = md::child(answer, "card");
                         return assembler(pattern)(answers[pattern]);
                       }};
  };
  auto once = recheck_repeats(work, std::move(output), round("-again"));
  if (!once) return once.error();
  return recheck_repeats(work, std::move(*once), round("-again-2"));
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

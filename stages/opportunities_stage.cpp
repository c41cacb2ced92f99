#include "stages/opportunities_stage.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

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

// The stage's max_tokens caps each of its six requests. A plan is five short
// concepts (about 500 tokens of JSON), so its request takes at most this much:
// a cut-off plan fails sooner, and the spend guard reserves less for it.
constexpr int k_plan_max_tokens = 1500;

nlohmann::json card_schema(const std::string& pattern) {
  using namespace schema;
  return object({
      {"title", pattern_string("A title of at most eight words", k_title_pattern, 80)},
      {"pattern", constant(pattern, "The consumer-goods pattern of this card")},
      {"mechanism_id", enumeration(vocabulary::mechanism_ids(), "The stage 1 mechanism the card builds on")},
      {"description",
       object({
           {"what", string("What it is, concretely: product, format, pack, ingredients or service")},
           {"who", string("Who it is for and why they would buy it, including the price point")},
           {"how_why_now", string("How the mechanism makes it work, and why now")},
       })},
      {"price_point", string("The shelf price with pack size and currency, e.g. 'EUR 3.49 for 4 x 125 g'", 80)},
      {"next_steps", array(string("A specific action with a scale and a time frame", 300), 3, 3, "Exactly three next steps")},
      {"shelf", string("One sentence on how it looks on the shelf and where it sits", 300)},
      {"buyer_questions", array(string("A question a retail buyer would ask", 300), 2, 2, "Exactly two buyer questions")},
      {"retail", object({
                     {"price", number("Consumer shelf price per unit, in `currency`", k_least_positive_figure)},
                     {"currency", pattern_string("ISO 4217 code of the price, e.g. EUR", k_currency_pattern, 3)},
                     {"units_per_store_per_week", number("Expected units sold per store per week", k_least_positive_figure)},
                     {"gross_margin_pct", number("Expected gross margin for the brand, in percent", 0.0, 100.0)},
                     {"months_to_launch", integer("Months from go decision to shelf", 0, 60)},
                 }, "Retail figures")},
  });
}

// One planned concept: the card's working title, its mechanism and the idea in brief.
nlohmann::json concept_schema() {
  using namespace schema;
  return object({
      {"title", pattern_string("The card's title: at most eight words, naming the product", k_title_pattern, 80)},
      {"mechanism_id", enumeration(vocabulary::mechanism_ids(), "The stage 1 mechanism the concept builds on")},
      {"concept", string("One or two sentences: what it is, concretely, and for whom", 400)},
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

nlohmann::json make_schema() {
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
  out += md::heading(2, "Next steps");
  out += md::bullet_list(md::texts(card, "next_steps"), true);
  out += md::heading(2, "On the shelf");
  out += md::paragraph(md::text(card, "shelf"));
  out += md::heading(2, "What a retail buyer will ask");
  out += md::bullet_list(md::texts(card, "buyer_questions"));
  const auto& retail = md::child(card, "retail");
  out += md::heading(2, "Retail figures");
  out += md::table({"Price", "Units per store per week", "Gross margin", "Months to launch"},
                   {{price_text(retail), md::number(md::child(retail, "units_per_store_per_week"), 1),
                     md::number(md::child(retail, "gross_margin_pct"), 1) + " %",
                     md::number(md::child(retail, "months_to_launch"))}});
  return out;
}

std::string render_markdown(const OpportunitiesStage& stage, const nlohmann::json& output) {
  std::string out = md::heading(1, stage_heading(stage));
  std::vector<std::vector<std::string>> rows;
  const auto& patterns = vocabulary::patterns();
  for (size_t i = 0; i < patterns.size(); ++i) {
    const auto& card = md::child(output, patterns[i]);
    const auto& retail = md::child(card, "retail");
    rows.push_back({std::to_string(i + 1), vocabulary::pattern_label(patterns[i]), md::text(card, "title"), price_text(retail),
                    md::number(md::child(retail, "units_per_store_per_week"), 1),
                    md::number(md::child(retail, "gross_margin_pct"), 1) + " %", md::number(md::child(retail, "months_to_launch"))});
  }
  out += md::table({"#", "Pattern", "Title", "Price", "Units/store/week", "Gross margin", "Months to launch"}, rows);
  for (size_t i = 0; i < patterns.size(); ++i) {
    const auto& card = md::child(output, patterns[i]);
    out += md::demote_headings(fmt::format("# Card {}: ", i + 1) + card_markdown(card, patterns[i]).substr(2));
  }
  return out;
}

// A title as the checks compare them: lower case, runs of whitespace as one space, trimmed.
std::string normalised_title(const std::string& title) {
  std::string out;
  for (char c : title) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string planned_title(const nlohmann::json& plan, const std::string& pattern) {
  return md::text(md::child(plan, pattern), "title");
}

// Names every pair of patterns whose planned titles are the same; empty when all differ.
std::string check_plan(const nlohmann::json& plan) {
  const auto& patterns = vocabulary::patterns();
  std::string problems;
  for (size_t i = 0; i < patterns.size(); ++i) {
    for (size_t j = i + 1; j < patterns.size(); ++j) {
      const std::string title = planned_title(plan, patterns[i]);
      if (normalised_title(title) != normalised_title(planned_title(plan, patterns[j]))) continue;
      problems += fmt::format("{}{} and {} have the same title \"{}\"", problems.empty() ? "" : "; ", patterns[i], patterns[j], title);
    }
  }
  if (problems.empty()) return {};
  return problems + ". Give each pattern a different product with a title of its own.";
}

// Rejects a card of `pattern` whose title is the one planned for another pattern.
std::string check_card(const nlohmann::json& card, const nlohmann::json& plan, const std::string& pattern) {
  const std::string title = md::text(card, "title");
  for (const auto& other : vocabulary::patterns()) {
    if (other == pattern || normalised_title(title) != normalised_title(planned_title(plan, other))) continue;
    return fmt::format("the title \"{}\" belongs to the {} card; give this {} card its own title, such as its planned \"{}\"",
                       title, other, pattern, planned_title(plan, pattern));
  }
  return {};
}

// One planned concept as the card prompt's data, with its pattern.
nlohmann::json planned_concept(const nlohmann::json& plan, const std::string& pattern) {
  nlohmann::json concept_json = {{"pattern", pattern}};
  for (const auto& [key, value] : md::child(plan, pattern).items()) concept_json[key] = value;
  return concept_json;
}

std::string json_text(const nlohmann::json& json) { return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace); }

// The card prompt's values: the stage's own, the pattern, its concept and the other four.
std::map<std::string, std::string> card_variables(const OpportunitiesStage& stage, const StageContext& context,
                                                  const nlohmann::json& plan, const std::string& pattern) {
  auto variables = standard_variables(stage, context);
  variables["pattern"] = pattern;
  variables["pattern_label"] = vocabulary::pattern_label(pattern);
  variables["concept"] = data_block("concept", "pattern=\"" + pattern + "\"", json_text(planned_concept(plan, pattern)));
  nlohmann::json others = nlohmann::json::array();
  for (const auto& other : vocabulary::patterns()) {
    if (other != pattern) others.push_back(planned_concept(plan, other));
  }
  variables["other_concepts"] = data_block("other_concepts", {}, json_text(others));
  return variables;
}

}  // namespace

// max_tokens is per request: 4000 fits one card (about 1000 tokens of JSON)
// with room for a model that reasons first; the plan takes at most k_plan_max_tokens.
StageParams OpportunitiesStage::default_params() const { return {0.8, 4000, {}}; }

const nlohmann::json& OpportunitiesStage::schema() const {
  static const nlohmann::json schema = make_schema();
  return schema;
}

std::map<std::string, std::string> OpportunitiesStage::prompt_variables(const StageContext& context) const {
  return standard_variables(*this, context);
}

std::vector<std::string> OpportunitiesStage::prompt_names() const { return {std::string(name()), k_card_prompt}; }

util::Expected<nlohmann::json> OpportunitiesStage::produce(StageWork& work) const {
  static const nlohmann::json plan_schema = make_plan_schema();
  const StageContext& context = work.context();
  auto plan_prompt = work.prompt(std::string(name()));
  if (!plan_prompt) return plan_prompt.error();
  StageParams plan_params = work.params();
  plan_params.max_tokens = std::min(plan_params.max_tokens, k_plan_max_tokens);
  auto plan_request = build_request(*this, *plan_prompt, context, plan_params, work.run_model());
  if (!plan_request) return plan_request.error();
  const auto mechanism_ids = found_mechanism_ids(context);
  plan_request->schema = limit_mechanism_refs(plan_schema, mechanism_ids);
  plan_request->schema_name = k_plan_schema_name;
  plan_request->check = check_plan;
  auto planned = work.ask({NamedRequest{"plan", std::move(*plan_request)}});
  if (!planned) return planned.error();
  const nlohmann::json plan = std::move(planned->front());

  auto card_prompt = work.prompt(k_card_prompt);
  if (!card_prompt) return card_prompt.error();
  const auto& patterns = vocabulary::patterns();
  std::vector<NamedRequest> requests;
  for (const auto& pattern : patterns) {
    auto request = fill_request(*this, *card_prompt, card_variables(*this, context, plan, pattern), work.params(), work.run_model());
    if (!request) return request.error();
    request->schema = limit_mechanism_refs(card_schema(pattern), mechanism_ids);
    request->schema_name = k_card_schema_name;
    request->check = [plan, pattern](const nlohmann::json& card) { return check_card(card, plan, pattern); };
    requests.push_back({"card-" + pattern, std::move(*request)});
  }
  auto cards = work.ask(requests);
  if (!cards) return cards.error();
  nlohmann::json output = nlohmann::json::object();
  for (size_t i = 0; i < patterns.size(); ++i) output[patterns[i]] = std::move((*cards)[i]);
  return output;
}

std::vector<RenderedFile> OpportunitiesStage::render(const nlohmann::json& output) const {
  std::vector<RenderedFile> files = stage_files(*this, output, render_markdown(*this, output));
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

#include "stages/opportunities_stage.hpp"

#include <fmt/format.h>

#include "stages/markdown.hpp"
#include "stages/prompt_inputs.hpp"
#include "stages/schema_builder.hpp"
#include "stages/stage_files.hpp"
#include "stages/stage_params.hpp"
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

}  // namespace

StageParams OpportunitiesStage::default_params() const { return {0.8, 10000, {}}; }

const nlohmann::json& OpportunitiesStage::schema() const {
  static const nlohmann::json schema = make_schema();
  return schema;
}

std::map<std::string, std::string> OpportunitiesStage::prompt_variables(const StageContext& context) const {
  return standard_variables(*this, context);
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

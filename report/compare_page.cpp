#include "report/compare_page.hpp"

#include <fmt/format.h>

#include "report/html.hpp"
#include "review/card_review.hpp"
#include "stages/vocabulary.hpp"

namespace pipeline::report {

namespace vocabulary = stages::vocabulary;
namespace {

constexpr const char* k_compare_css = R"(
body { font-family: "Helvetica Neue", Arial, sans-serif; color: #1f2933; background: #f4f5f7; margin: 0; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
.sub { color: #52606d; margin: 0 0 16px; }
.summary { background: #fff; border-radius: 8px; padding: 16px 20px; margin-bottom: 20px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
.score { font-size: 32px; font-weight: 700; }
.note { background: #fff4d6; border-left: 4px solid #d9a300; padding: 6px 10px; margin: 8px 0 0; }
.pattern { background: #fff; border-radius: 8px; padding: 14px 18px; margin-bottom: 18px; box-shadow: 0 1px 3px rgba(0,0,0,.12); break-inside: avoid; }
.head { display: flex; align-items: center; gap: 14px; flex-wrap: wrap; }
.score-title, .pattern-title { font-size: 16px; margin: 0 0 4px; }
.pattern-title { margin: 0; }
.badge { background: #2f4858; color: #fff; border-radius: 12px; padding: 2px 10px; font-size: 13px; }
.meter { width: 160px; height: 10px; background: #e4e7eb; border-radius: 5px; overflow: hidden; }
.meter span { display: block; height: 100%; background: #3f7cac; }
.flag { font-weight: 700; color: #b42318; }
.ok { color: #1b7f3b; }
.cards { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; margin-top: 10px; }
.card { border: 1px solid #d9dde3; border-radius: 6px; padding: 10px 14px; }
.card h3 { font-size: 16px; margin: 0 0 6px; }
.card p { margin: 4px 0; font-size: 14px; line-height: 1.4; }
.label { color: #52606d; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.ground { color: #52606d; font-size: 13px; margin-top: 6px; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
main { max-width: 1100px; margin: 0 auto; overflow-wrap: break-word; }
.cards > * { min-width: 0; }
.score-label { display: block; color: #52606d; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
@media screen and (max-width: 700px) {
  body { padding: 12px; }
  .cards { grid-template-columns: 1fr; }
  .meter { width: 100%; max-width: 160px; }
}
@page { margin: 12mm; }
@media print { body { background: #fff; padding: 0; font-size: 9pt; } .badge, .meter span { -webkit-print-color-adjust: exact; print-color-adjust: exact; } .pattern, .summary { box-shadow: none; border: 1px solid #d9dde3; } }
)";

std::string compare_page_text(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string compare_page_field(const char* label, const std::string& text) {
  if (text.empty()) return {};
  return fmt::format("<p><span class=\"label\">{}</span><br>{}</p>\n", label, html::escape(text));
}

std::string compare_page_card(const RunCards& side, const std::string& pattern, const Grounding& grounding) {
  const auto& card = side.cards.is_object() ? side.cards.value(pattern, nlohmann::json::object()) : nlohmann::json();
  const auto& description = card.is_object() ? card.value("description", nlohmann::json::object()) : nlohmann::json();
  const auto& anchor = card.is_object() ? card.value("brand_anchor", nlohmann::json::object()) : nlohmann::json();
  std::string out = "<div class=\"card\">\n";
  out += fmt::format("<p class=\"label\">{}</p>\n", html::escape(side.company_name.empty() ? side.brand_id : side.company_name));
  out += html::element("h3", compare_page_text(card, "title")) + "\n";
  out += compare_page_field("What it is", compare_page_text(description, "what"));
  out += compare_page_field("Who it is for", compare_page_text(description, "who"));
  out += compare_page_field("How it works and why now", compare_page_text(description, "how_why_now"));
  out += compare_page_field("Price point", compare_page_text(card, "price_point"));
  out += compare_page_field("Extends", compare_page_text(anchor, "product_line"));
  out += compare_page_field("For", compare_page_text(anchor, "customer_segment"));
  out += compare_page_field("On the shelf", compare_page_text(card, "shelf"));
  const auto& reviewed = side.review.is_object() ? side.review.value("cards", nlohmann::json::object()) : nlohmann::json();
  if (reviewed.is_object()) {
    out += compare_page_field("Second opinion, 1 to 5", review::scores_line(reviewed.value(pattern, nlohmann::json())));
  }
  out += fmt::format("<p class=\"ground\">Grounding: {:.0f}% of its {} words only in its own brand's profile, "
                     "{:.0f}% only in the other's</p>\n",
                     grounding.own_share() * 100.0, grounding.terms, grounding.other_share() * 100.0);
  return out + "</div>\n";
}

}  // namespace

std::string compare_page(const Differentiation& result) {
  const std::string name_a = result.a.company_name.empty() ? result.a.brand_id : result.a.company_name;
  const std::string name_b = result.b.company_name.empty() ? result.b.brand_id : result.b.company_name;
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  // The page needs nothing from anywhere: no script, image or font.
  out += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n";
  out += "<title>" + html::escape("Brand differentiation: " + name_a + " vs " + name_b) + "</title>\n";
  out += std::string("<style>") + k_compare_css + "</style>\n</head>\n<body>\n<main>\n";
  out += html::element("h1", "Brand differentiation: " + name_a + " vs " + name_b) + "\n";
  const std::string documents = result.same_document()
                                    ? "Document: " + html::file_name(result.a.document)
                                    : "Documents: " + html::file_name(result.a.document) + " and " +
                                          html::file_name(result.b.document);
  out += html::element("p", "Runs " + result.a.run_id + " and " + result.b.run_id + ". " + documents, "sub") + "\n";

  out += "<div class=\"summary\">\n";
  out += "<h2 class=\"score-title\">Overall differentiation</h2>\n";
  out += fmt::format("<div class=\"score\" aria-describedby=\"score-note\"><span class=\"score-label\">Score, 0 to "
                     "1</span>{:.2f}</div>\n",
                     result.score());
  out += fmt::format("<p id=\"score-note\">Differentiation: 1 &minus; the mean similarity of the five pairs ({:.2f}). {} of {} pairs "
                     "are not differentiated (similarity {:.2f} or more).</p>\n",
                     result.mean_similarity(), result.not_differentiated(), result.pairs.size(),
                     k_not_differentiated_at);
  out += "<p class=\"sub\">Similarity is the cosine of the TF-IDF vectors of the two cards' content words: 1 for "
         "the same words in the same proportions, 0 for no word in common. Grounding is the share of a card's "
         "words found only in its own brand's profile, and only in the other brand's.</p>\n";
  for (const auto& note : result.notes()) out += html::element("p", "Note: " + note, "note") + "\n";
  out += "</div>\n";

  for (const auto& pair : result.pairs) {
    out += "<section class=\"pattern\">\n<div class=\"head\">\n";
    out += "<h2 class=\"pattern-title\">" + html::element("span", vocabulary::pattern_label(pair.pattern), "badge") +
           "</h2>\n";
    out += fmt::format("<span>similarity <strong>{:.2f}</strong></span>\n", pair.similarity);
    out += fmt::format("<div class=\"meter\"><span style=\"width: {:.0f}%\"></span></div>\n", pair.similarity * 100.0);
    out += pair.differentiated() ? "<span class=\"ok\">differentiated</span>\n"
                                 : "<span class=\"flag\">not differentiated</span>\n";
    out += "</div>\n<div class=\"cards\">\n";
    out += compare_page_card(result.a, pair.pattern, pair.grounding_a);
    out += compare_page_card(result.b, pair.pattern, pair.grounding_b);
    out += "</div>\n</section>\n";
  }
  out += "</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace pipeline::report

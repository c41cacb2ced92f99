#include "report/html_report.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "lib/llm/chat.hpp"
#include "report/html.hpp"
#include "review/card_review.hpp"
#include "stages/card_figures.hpp"
#include "stages/markdown.hpp"
#include "stages/run_files.hpp"
#include "stages/stage_files.hpp"
#include "stages/stage_registry.hpp"
#include "stages/vocabulary.hpp"

namespace pipeline::report {

namespace markdown = stages::markdown;
namespace vocabulary = stages::vocabulary;
namespace {
// Named, so that the unity build's other files cannot collide with these helpers.
namespace html_report_page {

namespace md = markdown;
using html::escape;

// The analyses shown below the cards: every stage before the cards.
constexpr int k_cards_stage = 5;

// Colours and type shared by both style sheets; a restrained palette, one
// colour per pattern for its badge and the card's top rule.
constexpr const char* k_common_css = R"css(
.p-better_for_you { --pattern: #276b43; --pattern-soft: #e5f2ea; }
.p-premiumisation { --pattern: #6d3b7a; --pattern-soft: #f1e7f4; }
.p-convenience { --pattern: #1f5f99; --pattern-soft: #e4edf7; }
.p-format_migration { --pattern: #8a500c; --pattern-soft: #f7ecda; }
.p-occasion_expansion { --pattern: #9a3834; --pattern-soft: #f8e6e5; }
)css";

constexpr const char* k_browser_css = R"css(
:root { --ink: #1c2430; --muted: #5d6775; --line: #e2e5e9; --paper: #f5f4f0; --card: #ffffff; --accent: #1f3a5f;
  --warn: #8a5a00; --warn-soft: #fff6e0; }
* { box-sizing: border-box; }
html { background: var(--paper); }
body { margin: 0; color: var(--ink); font: 15px/1.5 "Inter", "Segoe UI", "Helvetica Neue", Helvetica, Arial,
  "Liberation Sans", "DejaVu Sans", sans-serif; -webkit-font-smoothing: antialiased; }
main { max-width: 1120px; margin: 0 auto; padding: 40px 32px 64px; }
h1, h2, .card-title { font-family: Georgia, "Times New Roman", "DejaVu Serif", serif; font-weight: 600;
  letter-spacing: -0.01em; }
a { color: var(--accent); }
.masthead { border-bottom: 1px solid var(--line); padding-bottom: 20px; margin-bottom: 28px; }
.eyebrow { text-transform: uppercase; letter-spacing: 0.12em; font-size: 12px; font-weight: 600; color: var(--muted);
  margin: 0 0 6px; }
.masthead h1 { font-size: 34px; line-height: 1.15; margin: 0 0 8px; }
.masthead .for { font-size: 18px; margin: 0 0 12px; color: var(--ink); }
.masthead .meta { font-size: 13px; color: var(--muted); margin: 0 0 22px; }
.masthead .meta .sep { margin: 0 4px; color: #a0a7b1; }
.lede { display: grid; grid-template-columns: 1fr 1fr; gap: 28px; margin: 0 0 8px; }
.lede h2 { font-family: inherit; font-size: 11px; text-transform: uppercase; letter-spacing: 0.1em; color: var(--muted);
  margin: 0 0 4px; font-weight: 700; }
.lede p { margin: 0; font-size: 15px; }
.lede .insight p { font-family: Georgia, "Times New Roman", "DejaVu Serif", serif; font-size: 17px; font-style: italic; }
.section-title { font-size: 22px; margin: 40px 0 14px; }
.glance { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line);
  border-radius: 10px; overflow: hidden; font-size: 14px; }
.glance th { text-align: left; font-size: 11px; text-transform: uppercase; letter-spacing: 0.08em; color: var(--muted);
  font-weight: 600; padding: 10px 14px; border-bottom: 1px solid var(--line); background: #fafaf8; }
.glance td { padding: 10px 14px; border-bottom: 1px solid var(--line); vertical-align: middle; }
.glance tr:last-child td { border-bottom: 0; }
.glance td.num, table.plain td.num, table.plain th.num { text-align: right; font-variant-numeric: tabular-nums;
  white-space: nowrap; }
.glance th.num { text-align: right; }
.glance a { color: var(--accent); text-decoration: underline; text-decoration-thickness: 1px;
  text-underline-offset: 2px; font-weight: 600; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: 11px; font-weight: 700;
  letter-spacing: 0.06em; text-transform: uppercase; color: var(--pattern); background: var(--pattern-soft);
  white-space: nowrap; }
.cards { display: grid; gap: 28px; }
.card { background: var(--card); border: 1px solid var(--line); border-top: 5px solid var(--pattern);
  border-radius: 12px; padding: 26px 30px 22px; box-shadow: 0 1px 2px rgba(20, 30, 45, 0.05); }
.card-head { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; font-size: 13px; color: var(--muted); }
.card-head .count { margin-left: auto; }
.card-title { font-size: 27px; line-height: 1.2; margin: 12px 0 4px; }
.price-point { margin: 0 0 16px; font-size: 15px; color: var(--muted); }
.price-point strong { color: var(--ink); }
.figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; margin: 0 0 6px; }
.figure { background: var(--pattern-soft); border-radius: 8px; padding: 10px 14px; }
.figure .value { display: block; font-size: 21px; font-weight: 700; color: var(--ink);
  font-variant-numeric: tabular-nums; line-height: 1.2; }
.figure .label { display: block; font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: 0.06em; }
.basis { font-size: 12px; color: var(--muted); margin: 0 0 18px; }
.card-body { display: grid; grid-template-columns: 1.1fr 1fr; gap: 28px; }
.card h3 { font-size: 11px; text-transform: uppercase; letter-spacing: 0.1em; color: var(--pattern); margin: 0 0 4px;
  font-weight: 700; }
.card p { margin: 0 0 14px; }
.shelf { font-style: italic; border-left: 3px solid var(--pattern); padding-left: 12px; }
.steps, .questions { margin: 0 0 14px; padding: 0; list-style: none; }
.steps li, .questions li { margin: 0 0 9px; padding-left: 0; }
.step-kind, .question-kind { display: block; font-size: 12px; font-weight: 700; color: var(--ink); }
.step-meta { display: block; font-size: 12px; color: var(--muted); }
.anchor { border-top: 1px solid var(--line); margin-top: 6px; padding-top: 12px; font-size: 12.5px; color: var(--muted);
  display: grid; grid-template-columns: repeat(4, 1fr); gap: 4px 18px; }
.anchor b { display: block; color: var(--ink); font-size: 11px; text-transform: uppercase; letter-spacing: 0.06em; }
.feasibility { font-size: 12.5px; color: var(--muted); margin: 10px 0 0; }
.launch { margin-top: 4px; font-size: 12.5px; color: var(--muted); }
.launch ul { margin: 0; padding-left: 18px; }
.launch b { color: var(--ink); }
.launch .beyond, .launch .beyond b, .flag, .flag b { color: var(--warn); }
.warnings { background: var(--warn-soft); border: 1px solid #f0d9a8; border-radius: 8px; padding: 10px 14px;
  margin: 14px 0 0; font-size: 13px; color: var(--warn); }
.review { border-top: 1px solid var(--line); margin-top: 14px; padding-top: 8px; font-size: 13px; }
.review ul { margin: 0; padding-left: 18px; }
.warnings p { margin: 0 0 4px; font-weight: 600; }
.warnings ul { margin: 0; padding-left: 18px; }
.analyses details { background: var(--card); border: 1px solid var(--line); border-radius: 10px; margin: 0 0 10px; }
.analyses summary { cursor: pointer; padding: 14px 18px; font-weight: 600; font-size: 16px; }
.analyses summary .warn-count { color: var(--warn); font-weight: 500; font-size: 13px; margin-left: 8px; }
.analysis { padding: 0 22px 16px; font-size: 14px; }
.analysis h3 { font-size: 17px; margin: 18px 0 6px; }
.analysis h4 { font-size: 15px; margin: 14px 0 4px; }
.analysis h5 { font-size: 14px; margin: 12px 0 4px; }
.analysis blockquote { margin: 8px 0; padding: 6px 14px; border-left: 3px solid var(--accent); background: #f7f8fa; }
table.plain, .analysis table { border-collapse: collapse; width: 100%; margin: 8px 0 14px; font-size: 13px; }
table.plain th, table.plain td, .analysis th, .analysis td { border-bottom: 1px solid var(--line); padding: 6px 8px;
  text-align: left; vertical-align: top; }
table.plain th, .analysis th { font-size: 11px; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); }
.provenance { font-size: 13px; }
.provenance dl { display: grid; grid-template-columns: 160px 1fr; gap: 4px 16px; margin: 0 0 16px; }
.provenance dt { color: var(--muted); }
.provenance dd { margin: 0; }
.hash { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 11.5px; word-break: break-all;
  color: var(--muted); }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.chart { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px; margin: 8px 0 16px;
  display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 12px 28px; }
.chart h4 { margin: 0 0 8px; font-size: 13px; }
.bars { list-style: none; margin: 0; padding: 0; }
.bars li { display: grid; grid-template-columns: 9em minmax(0, 1fr) auto; gap: 8px; align-items: center;
  font-size: 12px; margin: 0 0 6px; }
.bar-label { color: var(--muted); }
.bar-track { background: #eef0f3; height: 14px; }
.bar { display: block; height: 100%; }
.bar-value { font-variant-numeric: tabular-nums; white-space: nowrap; }
/* A table wider than its column scrolls inside this box, which takes the keyboard focus to do so. */
.scroll-box { max-width: 100%; overflow-x: auto; }
.scroll-box:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
footer.colophon { margin-top: 36px; font-size: 12px; color: var(--muted); border-top: 1px solid var(--line);
  padding-top: 12px; }
/* Long words and values wrap rather than widen the page; grid items may shrink below their content. */
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
main { overflow-wrap: break-word; }
.lede > *, .card-body > *, .figures > *, .anchor > *, .provenance dd { min-width: 0; }
.provenance dd { overflow-wrap: anywhere; }
/* On a phone: one column, the chart's panels one above the other, and a wide table scrolls in its box. */
@media screen and (max-width: 760px) {
  main { padding: 24px 14px 48px; }
  .masthead h1 { font-size: 26px; }
  .card { padding: 18px 16px 16px; }
  .card-title { font-size: 22px; }
  .figures, .anchor { grid-template-columns: 1fr 1fr; }
  .card-body, .lede { grid-template-columns: 1fr; }
  .glance td, .glance th { padding: 8px 10px; }
  .glance td:nth-child(2) { min-width: 11em; }
  .provenance dl { grid-template-columns: 1fr; gap: 0; }
  .provenance dt { margin-top: 8px; font-weight: 600; }
  .chart { grid-template-columns: 1fr; }
}
/* No paper size: A4 and US Letter alike, whichever the printer holds. */
@page { margin: 12mm; }
/* Print: two cards to a page, each on its own half and never cut; the analyses open. */
@media print {
  html, body { background: #fff; }
  /* Badges, figure tiles and the cards' rules carry meaning: print them even when backgrounds are off. */
  .badge, .figure, .card, .warnings { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { font-size: 7.5pt; line-height: 1.2; }
  main { max-width: none; padding: 0; }
  .masthead { margin-bottom: 10px; padding-bottom: 8px; }
  .masthead h1 { font-size: 18pt; }
  .masthead .meta { margin-bottom: 8px; }
  .lede { margin-bottom: 6px; gap: 16px; }
  .lede p, .lede .insight p { font-size: 8.5pt; }
  .glance, .section-title.glance-title { display: none; }
  .section-title { font-size: 14pt; margin: 10px 0 8px; }
  .cards { display: block; }
  /* No minimum height: two cards fit a page of A4 or US Letter (255 mm within the margins) only as they are. */
  .card { break-inside: avoid; page-break-inside: avoid; margin: 0 0 3mm; box-shadow: none;
    padding: 6px 12px 4px; border-radius: 6px; border-top-width: 3px; }
  .card-head { font-size: 7.5pt; }
  .card-title { font-size: 13pt; margin: 2px 0 1px; }
  .price-point { margin-bottom: 4px; font-size: 8.5pt; }
  .figures { gap: 6px; }
  .figure { padding: 2px 6px; }
  .figure .value { font-size: 10pt; }
  .figure .label { font-size: 7.5pt; letter-spacing: 0.02em; }
  .basis { margin-bottom: 4px; font-size: 7pt; }
  .card-body { gap: 12px; }
  .card h3 { font-size: 7.5pt; margin-bottom: 0; }
  .card p { margin-bottom: 3px; }
  .steps, .questions { margin-bottom: 4px; }
  .steps li, .questions li { margin-bottom: 2px; }
  .step-kind, .question-kind, .step-meta { font-size: 7.5pt; }
  .anchor { font-size: 7.5pt; padding-top: 3px; margin-top: 2px; }
  .anchor b { font-size: 7.5pt; }
  .feasibility { font-size: 7.5pt; margin-top: 2px; }
  .launch { font-size: 7pt; margin-top: 0; }
  /* The launch as one run of text, not a list: two cards still fit a page. */
  .launch ul { padding-left: 0; }
  .launch li { display: inline; }
  .launch li + li::before { content: " · "; }
  .warnings { font-size: 7.5pt; padding: 4px 8px; margin-top: 6px; }
  .review { font-size: 7.5pt; margin-top: 4px; padding-top: 2px; }
  .analyses, .provenance { break-before: page; }
  .analyses details { border: 0; }
  .analyses summary { padding: 8px 0; list-style: none; }
  details::details-content { content-visibility: visible; display: block; }
  .analysis { padding: 0; }
  .chart { break-inside: avoid; }
  .bar-track, .bar { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .scroll-box { overflow: visible; }
}
)css";

// What MuPDF 1.21 lays out: no grid, flex, custom properties or details, so
// plain blocks and tables, with the pattern colours spelled out.
constexpr const char* k_pdf_css = R"css(
article, section, header, footer, main, nav, aside { display: block; }
body { font-family: sans-serif; color: #1c2430; }
h1 { font-family: serif; font-size: 2em; margin: 0 0 0.3em 0; }
h2 { font-family: serif; font-size: 1.5em; margin: 1em 0 0.4em 0; }
h3 { font-size: 1.1em; margin: 1em 0 0.3em 0; }
h4 { font-size: 1em; margin: 0.8em 0 0.2em 0; }
h5 { font-size: 0.95em; margin: 0.6em 0 0.2em 0; }
p { margin: 0 0 0.5em 0; }
.eyebrow { font-size: 0.8em; font-weight: bold; color: #5d6775; margin: 0; }
.for { font-size: 1.2em; margin: 0 0 0.3em 0; }
.meta, .basis, .feasibility, .step-meta, .anchor, .launch { color: #5d6775; font-size: 0.85em; }
/* The first page holds the title and the cards at a glance; then a card per page. */
.card { page-break-before: always; border-top: 4pt solid #1c2430; padding-top: 6pt; }
.glance li { margin: 0 0 0.6em 0; }
.glance b { font-size: 1.1em; }
.card h3 { font-size: 0.8em; font-weight: bold; margin: 0.9em 0 0.2em 0; color: #5d6775; }
.card-title { font-family: serif; font-size: 1.7em; margin: 0.3em 0 0.2em 0; }
.badge { font-weight: bold; font-size: 0.85em; }
.card-head { color: #5d6775; font-size: 0.9em; }
table { border-collapse: collapse; width: 100%; margin: 0.3em 0 0.6em 0; }
th { text-align: left; font-size: 0.8em; color: #5d6775; padding: 2pt 6pt 2pt 0; }
td { padding: 2pt 6pt 3pt 0; vertical-align: top; }
.figures td { padding: 4pt 6pt 4pt 0; }
.figure .value { font-size: 1.35em; font-weight: bold; }
.figure .label { font-size: 0.75em; color: #5d6775; }
.shelf { font-style: italic; }
.step-kind, .question-kind { display: block; font-weight: bold; }
.step-meta { display: block; }
.steps, .questions { margin: 0 0 0.5em 0; }
.sep { color: #a0a7b1; }
.lede h2 { font-family: sans-serif; font-size: 0.8em; color: #5d6775; margin: 0.8em 0 0.1em 0; }
.insight p { font-family: serif; font-style: italic; font-size: 1.1em; }
.warnings { color: #8a5a00; border: 1pt solid #f0d9a8; padding: 4pt 6pt; margin-top: 6pt; }
.analyses, .provenance { page-break-before: always; }
blockquote { margin: 0.3em 0 0.3em 1em; font-style: italic; }
.hash { font-family: monospace; font-size: 0.75em; color: #5d6775; }
.num { text-align: right; }
.colophon { color: #5d6775; font-size: 0.8em; margin-top: 1.5em; }
.p-better_for_you .badge { color: #276b43; }
.p-premiumisation .badge { color: #6d3b7a; }
.p-convenience .badge { color: #1f5f99; }
.p-format_migration .badge { color: #8a500c; }
.p-occasion_expansion .badge { color: #9a3834; }
.card.p-better_for_you { border-top-color: #276b43; }
.card.p-premiumisation { border-top-color: #6d3b7a; }
.card.p-convenience { border-top-color: #1f5f99; }
.card.p-format_migration { border-top-color: #8a500c; }
.card.p-occasion_expansion { border-top-color: #9a3834; }
.chart-panel { margin-top: 0.6em; }
.bar-label { font-size: 0.85em; margin: 0.3em 0 0.1em 0; }
.bar-track { background-color: #eef0f3; margin-right: 40%; font-size: 5pt; line-height: 1; }
)css";

// A count for people: 12345 -> "12,345".
std::string grouped(std::int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string money(double usd) { return usd >= 0.1 ? fmt::format("${:.2f}", usd) : fmt::format("${:.4f}", usd); }

std::string seconds(double value) { return value >= 10 ? fmt::format("{:.0f} s", value) : fmt::format("{:.1f} s", value); }

// What a stage's usage says about its tokens and money.
struct StageFigures {
  std::optional<double> seconds;
  std::optional<std::int64_t> tokens;  // nullopt when the provider reported none
  std::optional<double> cost_usd;
};

StageFigures stage_figures(const checkpoints::StageRecord& record) {
  StageFigures figures;
  figures.seconds = record.duration_s;
  if (record.usage.empty()) return figures;
  const auto usage = llm::Usage::from_json(record.usage);
  const bool reported = record.usage.value("prompt_tokens", nlohmann::json()).is_number();
  if (reported) figures.tokens = usage.prompt_tokens + usage.completion_tokens;
  figures.cost_usd = usage.cost_usd;
  return figures;
}

std::string tokens_text(const checkpoints::StageRecord& record) {
  const auto figures = stage_figures(record);
  if (figures.tokens) return grouped(*figures.tokens);
  const auto usage = llm::Usage::from_json(record.usage);
  const auto estimated = usage.estimated_prompt_tokens + usage.estimated_completion_tokens;
  return estimated > 0 ? "≈" + grouped(estimated) + " est." : "not reported";
}

// " (N from the prompt cache)" when the provider served some prompt tokens from its cache (already counted).
std::string prompt_cache_text(const checkpoints::StageRecord& record) {
  const auto cached = llm::Usage::from_json(record.usage).cached_tokens;
  return cached > 0 ? " (" + grouped(cached) + " from the prompt cache)" : "";
}

// " (N reasoning)" when the stage's model reported thinking tokens (already counted among its tokens).
std::string reasoning_text(const checkpoints::StageRecord& record) {
  const auto reasoning = llm::Usage::from_json(record.usage).reasoning_tokens;
  return reasoning > 0 ? " (" + grouped(reasoning) + " reasoning)" : "";
}

std::string cost_text(const std::optional<double>& cost) { return cost ? money(*cost) : "not reported"; }

// The warnings of stage 5 about one card's requests ("card-<pattern>: ..."
// and "card-<pattern>-again: ..."), without the part name.
std::vector<std::string> card_warnings(const checkpoints::StageRecord& record, const std::string& pattern) {
  const std::string part = "card-" + vocabulary::dashed(pattern);
  std::vector<std::string> out;
  for (const auto& warning : record.warnings) {
    for (const auto& prefix : {part + ": ", part + "-again: "}) {
      if (warning.rfind(prefix, 0) == 0) out.push_back(warning.substr(prefix.size()));
    }
  }
  return out;
}

bool is_card_warning(const std::string& warning) {
  for (const auto& pattern : vocabulary::patterns()) {
    const std::string part = "card-" + vocabulary::dashed(pattern);
    if (warning.rfind(part + ": ", 0) == 0 || warning.rfind(part + "-again: ", 0) == 0) return true;
  }
  return false;
}

std::string warnings_box(const std::vector<std::string>& warnings, std::string_view what) {
  if (warnings.empty()) return {};
  std::string out = "<div class=\"warnings\" role=\"note\"><p>" + escape(what) +
                    " still breaks these style rules after every re-ask; it was kept because its content is "
                    "complete:</p><ul>";
  for (const auto& warning : warnings) out += "<li>" + escape(warning) + "</li>";
  return out + "</ul></div>\n";
}

std::string price_text(const nlohmann::json& retail) {
  const auto& price = md::child(retail, "price");
  if (!price.is_number()) return {};
  return fmt::format("{:.2f} {}", price.get<double>(), md::text(retail, "currency"));
}

std::string percent_text(const nlohmann::json& value) {
  const std::string number = md::number(value, 1);
  return number.empty() ? std::string() : number + " %";
}

// The stage 1 mechanism a card builds on, "M1 · Collect without queuing", or its id alone.
std::string mechanism_text(const std::map<int, nlohmann::json>& outputs, const std::string& id) {
  if (auto stage1 = outputs.find(1); stage1 != outputs.end()) {
    for (const auto& mechanism : md::child(stage1->second, "mechanisms")) {
      if (md::text(mechanism, "id") == id && !md::text(mechanism, "name").empty()) {
        return id + " · " + md::text(mechanism, "name");
      }
    }
  }
  return id;
}

// Labelled figures: a grid of tiles in a browser, a one-row table for MuPDF.
std::string figures_html(const std::vector<std::pair<std::string, std::string>>& figures, HtmlReportTarget target) {
  std::string out;
  if (target == HtmlReportTarget::pdf) {
    out = "<table class=\"figures\"><tr>";
    for (const auto& [label, value] : figures) {
      out += "<td class=\"figure\"><span class=\"value\">" + escape(value) + "</span><br><span class=\"label\">" +
             escape(label) + "</span></td>";
    }
    return out + "</tr></table>\n";
  }
  out = "<div class=\"figures\">";
  for (const auto& [label, value] : figures) {
    out += "<div class=\"figure\"><span class=\"value\">" + escape(value) + "</span><span class=\"label\">" +
           escape(label) + "</span></div>";
  }
  return out + "</div>\n";
}

// The launch's economics as a short list, with what puts it beyond the brand's limits first.
std::string launch_html(const nlohmann::json& launch) {
  if (!launch.is_object()) return {};
  const auto& investment = md::child(launch, "investment");
  const std::string currency = md::text(investment, "currency");
  const auto money = [&](const char* key) {
    const auto& amount = md::child(investment, key);
    return amount.is_number() ? grouped(std::llround(amount.get<double>())) + (currency.empty() ? "" : " " + currency)
                              : std::string("–");
  };
  const auto& equipment = md::child(launch, "new_equipment");
  const auto& needed = md::child(equipment, "needed");
  const auto& cannibalises = md::child(launch, "cannibalises");
  std::string out = "<div class=\"launch\"><h3>Launch</h3><ul>";
  for (const auto& flag : md::texts(launch, "beyond_limits"))
    out += "<li class=\"beyond\"><b>Beyond the brand's limits:</b> " + escape(flag) + "</li>";
  out += "<li><b>Investment:</b> " + escape(money("low") + " to " + money("high")) + "</li>";
  out += "<li><b>New equipment:</b> " +
         escape(needed.is_boolean() && needed.get<bool>() ? md::text(equipment, "what") : std::string("none")) + "</li>";
  out += "<li><b>Shelf set:</b> " + escape(md::text(launch, "shelf_set")) + "</li>";
  out += "<li><b>May take sales from " + escape(md::text(cannibalises, "product_line")) + ":</b> " +
         escape(md::text(cannibalises, "how_limited")) + "</li>";
  out += "<li><b>Why the leader would not copy it within a year:</b> " + escape(md::text(launch, "copy_defence")) + "</li>";
  return out + "</ul></div>\n";
}

// The review's scores of a card with their reasons (`pipeline review`); empty without one.
std::string review_html(const nlohmann::json& card_review) {
  if (!card_review.is_object()) return {};
  std::string items;
  for (const auto& criterion : review::criteria()) {
    const auto& entry = md::child(card_review, criterion);
    if (!entry.is_object() || !entry.value("score", nlohmann::json()).is_number_integer()) continue;
    std::string label = review::criterion_label(criterion);
    label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
    items += "<li>" + html::element("b", fmt::format("{} {}/5", label, entry.at("score").get<int>())) + " " +
             escape(md::text(entry, "reason")) + "</li>";
  }
  if (items.empty()) return {};
  return "<div class=\"review\"><h3>" + escape("Second opinion (" + md::text(card_review, "model") + ")") +
         "</h3><ul class=\"scores\">" + items + "</ul></div>\n";
}

std::string card_html(const nlohmann::json& card, const std::string& pattern, size_t index,
                      const std::map<int, nlohmann::json>& outputs, const checkpoints::StageRecord& record,
                      HtmlReportTarget target, const nlohmann::json& card_review) {
  const auto& patterns = vocabulary::patterns();
  std::string out = fmt::format("<article class=\"card p-{}\" id=\"card-{}\" data-pattern=\"{}\">\n", pattern,
                                index + 1, pattern);
  // MuPDF lays the head out as one line of text, so it needs the separators a browser's flex gap gives.
  const std::string sep = target == HtmlReportTarget::pdf ? "<span class=\"sep\"> · </span>" : "";
  out += "<div class=\"card-head\">" + html::element("span", vocabulary::pattern_label(pattern), "badge") + sep +
         html::element("span", "builds on " + mechanism_text(outputs, md::text(card, "mechanism_id")), "mechanism") +
         sep + html::element("span", fmt::format("Card {} of {}", index + 1, patterns.size()), "count") + "</div>\n";
  out += html::element("h2", md::text(card, "title"), "card-title") + "\n";
  out += "<p class=\"price-point\">Price point: <strong>" + escape(md::text(card, "price_point")) + "</strong></p>\n";

  const auto& retail = md::child(card, "retail");
  out += figures_html({{"Shelf price", price_text(retail)},
                       {"Units / store / week", md::number(md::child(retail, "units_per_store_per_week"), 1)},
                       {"Gross margin", percent_text(md::child(retail, "gross_margin_pct"))},
                       {"Months to launch", md::number(md::child(retail, "months_to_launch"))}},
                      target);
  // The figures' basis, what the price is set against and what to check, one paragraph.
  std::string basis = escape(md::text(retail, "basis"));
  const auto& comparable = md::child(card, "comparable");
  if (comparable.is_object()) basis += " Priced against " + escape(stages::comparable_line(card)) + ".";
  for (const auto& flag : md::texts(comparable, "flags"))
    basis += " <span class=\"flag\"><b>Check the price:</b> " + escape(flag) + "</span>";
  if (!md::text(retail, "below_threshold_reason").empty())
    basis += " Below stage 4's retail thresholds: " + escape(md::text(retail, "below_threshold_reason"));
  out += "<p class=\"basis\">" + basis + "</p>\n";

  const auto& description = md::child(card, "description");
  std::string left = "<div class=\"description\">";
  left += "<h3>What it is</h3>" + html::element("p", md::text(description, "what"));
  left += "<h3>Who it is for</h3>" + html::element("p", md::text(description, "who"));
  left += "<h3>How it works, and why now</h3>" + html::element("p", md::text(description, "how_why_now"));
  left += "<h3>On the shelf</h3>" + html::element("p", md::text(card, "shelf"), "shelf");
  left += launch_html(md::child(card, "launch"));
  left += "</div>";

  std::string right = "<div class=\"plan\"><h3>Next steps</h3><ol class=\"steps\">";
  const auto& next = md::child(card, "next_steps");
  for (const char* kind : {"production_trial", "retailer_test", "claim_proof"}) {
    const auto& step = md::child(next, kind);
    right += "<li>" + html::element("span", md::label(kind), "step-kind") + escape(md::text(step, "action")) +
             html::element("span", md::text(step, "scale") + " · " + md::text(step, "timing"), "step-meta") + "</li>";
  }
  right += "</ol><h3>A retail buyer will ask</h3><ul class=\"questions\">";
  const auto& questions = md::child(card, "buyer_questions");
  const auto& versus = md::child(questions, "versus_competitor");
  right += "<li>" + html::element("span", "Against " + md::text(versus, "competitor"), "question-kind") +
           escape(md::text(versus, "question")) + "</li>";
  right += "<li>" + html::element("span", "Trade terms", "question-kind") + escape(md::text(questions, "trade_terms")) +
           "</li></ul></div>";
  if (target == HtmlReportTarget::pdf) {
    out += left + right;
  } else {
    out += "<div class=\"card-body\">" + left + right + "</div>\n";
  }

  const auto& anchor = md::child(card, "brand_anchor");
  out += "<div class=\"anchor\">";
  for (const auto& [label, key] : std::vector<std::pair<std::string, std::string>>{
           {"Extends", "product_line"}, {"For", "customer_segment"}, {"Uses", "capability"},
           {"Takes share from", "competitor"}}) {
    out += target == HtmlReportTarget::pdf
               ? "<b>" + escape(label) + ":</b> " + escape(md::text(anchor, key)) + "<br>"
               : "<div><b>" + escape(label) + "</b>" + escape(md::text(anchor, key)) + "</div>";
  }
  out += "</div>\n";
  const auto& feasibility = md::child(card, "feasibility");
  std::string tier = md::label(md::text(feasibility, "price_tier")) + " tier";
  if (!md::text(feasibility, "price_tier_reason").empty()) tier += ": " + md::text(feasibility, "price_tier_reason");
  out += html::element("p",
                       md::label(md::text(feasibility, "storage")) + " · " + md::label(md::text(feasibility, "channel")) +
                           " · consumer education: " + md::text(feasibility, "consumer_education") + " · " + tier,
                       "feasibility") +
         "\n";
  out += review_html(card_review);
  out += warnings_box(card_warnings(record, pattern), "This card");
  return out + "</article>\n";
}

std::string title_of(const checkpoints::RunState& state) {
  if (!state.input.title.empty()) return state.input.title;
  const auto slash = state.input.source.find_last_of('/');
  return slash == std::string::npos ? state.input.source : state.input.source.substr(slash + 1);
}

// What the cards grew from: the innovation (stage 1) and its transferable insight (stage 3).
std::string lede_html(const std::map<int, nlohmann::json>& outputs) {
  std::string innovation;
  std::string insight;
  if (auto stage1 = outputs.find(1); stage1 != outputs.end()) {
    const auto& found = md::child(stage1->second, "innovation");
    innovation = md::text(found, "summary");
  }
  if (auto stage3 = outputs.find(3); stage3 != outputs.end()) insight = md::text(stage3->second, "transferable_insight");
  if (innovation.empty() && insight.empty()) return {};
  std::string out = "<div class=\"lede\">";
  if (!innovation.empty()) out += "<div class=\"innovation\"><h2>The innovation</h2>" + html::element("p", innovation) + "</div>";
  if (!insight.empty()) out += "<div class=\"insight\"><h2>The insight that travels</h2>" + html::element("p", insight) + "</div>";
  return out + "</div>\n";
}

std::string masthead_html(const checkpoints::RunState& state, const std::map<int, nlohmann::json>& outputs) {
  std::string out = "<header class=\"masthead\">";
  out += html::element("p", "Innovation opportunities", "eyebrow");
  out += html::element("h1", title_of(state));
  const std::string company = state.brand.company_name.empty() ? state.brand.id : state.brand.company_name;
  out += "<p class=\"for\">Five opportunity cards for <strong>" + escape(company) + "</strong></p>";
  // The spaces are in the text, so that a PDF's text layer and a copy keep them.
  const std::string sep = "<span class=\"sep\"> · </span>";
  out += "<p class=\"meta\">" + html::element("span", "Run " + state.run_id) + sep +
         html::element("span", "created " + state.created_at.substr(0, std::min<size_t>(10, state.created_at.size()))) +
         sep + html::element("span", "figures are model estimates") + "</p>";
  out += lede_html(outputs);
  return out + "</header>\n";
}

// The five cards in a few words each: a table in a browser; for MuPDF,
// whose tables give every column the same width, a list.
std::string glance_html(const nlohmann::json& cards, HtmlReportTarget target) {
  const auto& patterns = vocabulary::patterns();
  if (target == HtmlReportTarget::pdf) {
    std::string out = "<h2 class=\"glance-title\">At a glance</h2>\n<ol class=\"glance\">";
    for (size_t i = 0; i < patterns.size(); ++i) {
      const auto& card = md::child(cards, patterns[i]);
      const auto& retail = md::child(card, "retail");
      out += fmt::format("<li class=\"p-{}\">", patterns[i]) + html::element("b", md::text(card, "title")) + "<br>" +
             html::element("span", vocabulary::pattern_label(patterns[i]), "badge") +
             escape(fmt::format(" · {} · {} units per store per week · {} margin · {} months to launch", price_text(retail),
                                md::number(md::child(retail, "units_per_store_per_week"), 1),
                                percent_text(md::child(retail, "gross_margin_pct")),
                                md::number(md::child(retail, "months_to_launch")))) +
             "</li>";
    }
    return out + "</ol>\n";
  }
  std::string out = "<table class=\"glance\"><thead><tr>"
                    "<th>Pattern</th><th>Opportunity</th><th class=\"num\">Price</th><th class=\"num\">Units / store / "
                    "week</th><th class=\"num\">Margin</th><th class=\"num\">Months</th></tr></thead><tbody>";
  for (size_t i = 0; i < patterns.size(); ++i) {
    const auto& card = md::child(cards, patterns[i]);
    const auto& retail = md::child(card, "retail");
    out += fmt::format("<tr class=\"p-{}\"><td>", patterns[i]) +
           html::element("span", vocabulary::pattern_label(patterns[i]), "badge") + "</td><td>" +
           fmt::format("<a href=\"#card-{}\">", i + 1) + escape(md::text(card, "title")) + "</a></td>" +
           html::element("td", price_text(retail), "num") +
           html::element("td", md::number(md::child(retail, "units_per_store_per_week"), 1), "num") +
           html::element("td", percent_text(md::child(retail, "gross_margin_pct")), "num") +
           html::element("td", md::number(md::child(retail, "months_to_launch")), "num") + "</tr>";
  }
  return "<h2 class=\"section-title glance-title\">At a glance</h2>\n" +
         html::scroll_box(out + "</tbody></table>", "The cards at a glance") + "\n";
}

std::string cards_html(const checkpoints::RunState& state, const std::map<int, nlohmann::json>& outputs,
                       HtmlReportTarget target, const nlohmann::json& review) {
  const auto found = outputs.find(k_cards_stage);
  if (found == outputs.end()) {
    return "<section class=\"cards\">" + html::element("p", "The cards are not done yet (stage 5).", "warnings") +
           "</section>\n";
  }
  const auto& record = state.stage(k_cards_stage);
  std::string out;
  out += glance_html(found->second, target);
  std::vector<std::string> others;
  for (const auto& warning : record.warnings) {
    if (!is_card_warning(warning)) others.push_back(warning);
  }
  // In the PDF every card opens a page, so the heading would stand alone at the foot of the first.
  if (target == HtmlReportTarget::browser) out += "<h2 class=\"section-title\">The five opportunities</h2>\n";
  out += warnings_box(others, "The plan of the five cards");
  out += "<section class=\"cards\">\n";
  const auto& patterns = vocabulary::patterns();
  for (size_t i = 0; i < patterns.size(); ++i) {
    const auto& cards_reviewed = md::child(review, "cards");
    out += card_html(md::child(found->second, patterns[i]), patterns[i], i, outputs, record, target,
                     md::child(cards_reviewed, patterns[i]));
  }
  return out + "</section>\n";
}

// A stage's Markdown without its top heading (the section's title says it).
std::string stage_body_markdown(const stages::Stage& stage, const nlohmann::json& output) {
  const std::string wanted = stages::stage_file_path(stage, "md");
  for (const auto& file : stage.render(output)) {
    if (file.path != wanted) continue;
    const auto first_line_end = file.content.find('\n');
    if (file.content.rfind("# ", 0) == 0 && first_line_end != std::string::npos) return file.content.substr(first_line_end + 1);
    return file.content;
  }
  return {};
}

std::string analyses_html(const checkpoints::RunState& state, const std::map<int, nlohmann::json>& outputs,
                          HtmlReportTarget target) {
  std::string out = "<section class=\"analyses\">\n<h2 class=\"section-title\">How the cards were reached</h2>\n";
  for (const auto& stage : stages::all_stages()) {
    if (stage->number() == k_cards_stage) continue;
    const auto& record = state.stage(stage->number());
    const auto found = outputs.find(stage->number());
    std::string body = warnings_box(record.warnings, "The answer of this stage");
    body += found == outputs.end() ? html::element("p", "Not done yet.")
                                   : html::from_markdown(stage_body_markdown(*stage, found->second), 1);
    const std::string id = fmt::format("stage-{}", stage->number());
    if (target == HtmlReportTarget::pdf) {
      out += "<div class=\"stage\" id=\"" + id + "\">" + html::element("h2", stages::stage_heading(*stage)) + body +
             "</div>\n";
      continue;
    }
    std::string summary = escape(stages::stage_heading(*stage));
    if (!record.warnings.empty()) {
      summary += html::element("span", fmt::format("{} warning{}", record.warnings.size(),
                                                   record.warnings.size() == 1 ? "" : "s"),
                               "warn-count");
    }
    out += "<details id=\"" + id + "\"><summary>" + summary + "</summary><div class=\"analysis\">\n" + body +
           "</div></details>\n";
  }
  return out + "</section>\n";
}

// One panel of the chart: a bar per stage, its figure beside it as text. In a
// browser each row is a list item that reads "1. Signals 48 s" aloud; MuPDF,
// whose tables place no cell by width, gets the label on a line and the bar,
// a block drawn as a vector rectangle, under it.
std::string chart_panel(const std::string& title, const std::array<std::optional<double>, 5>& values,
                        const std::array<std::string, 5>& labels, const std::string& colour, HtmlReportTarget target) {
  double largest = 0;
  for (const auto& value : values) largest = std::max(largest, value.value_or(0));
  const bool pdf = target == HtmlReportTarget::pdf;
  std::string out = "<div class=\"chart-panel\">" + (pdf ? "<p><b>" + escape(title) + "</b></p>\n"
                                                          : html::element("h4", title) + "<ul class=\"bars\">");
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string stage = fmt::format("{}. {}", i + 1, md::label(stages::all_stages()[i]->name()));
    const double percent = largest > 0 && values[i] ? std::max(1.0, *values[i] / largest * 100) : 0;
    const std::string bar = percent > 0 ? fmt::format("width: {:.1f}%; background-color: {}", percent, colour) : "";
    if (pdf) {
      out += html::element("p", stage + ": " + labels[i], "bar-label") + "<div class=\"bar-track\">" +
             (bar.empty() ? "&#160;" : "<div class=\"bar\" style=\"" + bar + "\">&#160;</div>") + "</div>\n";
      continue;
    }
    out += "<li>" + html::element("span", stage, "bar-label") + "<span class=\"bar-track\" aria-hidden=\"true\">" +
           (bar.empty() ? "" : "<span class=\"bar\" style=\"" + bar + "\"></span>") + "</span>" +
           html::element("span", labels[i], "bar-value") + "</li>";
  }
  return out + (pdf ? "</div>\n" : "</ul></div>\n");
}

// Time, tokens and money per stage as three panels of bars.
std::string chart_html(const checkpoints::RunState& state, HtmlReportTarget target) {
  std::array<std::optional<double>, 5> time{}, tokens{}, cost{};
  std::array<std::string, 5> time_labels, token_labels, cost_labels;
  for (size_t i = 0; i < 5 && i < state.stages.size(); ++i) {
    const auto& record = state.stages[i];
    const auto figures = stage_figures(record);
    time[i] = figures.seconds;
    time_labels[i] = figures.seconds ? seconds(*figures.seconds) : "–";
    if (figures.tokens) tokens[i] = static_cast<double>(*figures.tokens);
    token_labels[i] = record.usage.empty() ? "–" : tokens_text(record);
    cost[i] = figures.cost_usd;
    cost_labels[i] = record.usage.empty() ? "–" : cost_text(figures.cost_usd);
  }
  return "<div class=\"chart\">\n" + chart_panel("Time", time, time_labels, "#1f3a5f", target) +
         chart_panel("Tokens", tokens, token_labels, "#4f7cac", target) +
         chart_panel("Money", cost, cost_labels, "#99590e", target) + "</div>\n";
}

// A SHA-256 in small monospace; for MuPDF, which breaks no word, in two halves.
std::string hash_html(const std::string& hash, HtmlReportTarget target) {
  if (target == HtmlReportTarget::pdf && hash.size() > 32) {
    return "<span class=\"hash\">" + escape(hash.substr(0, 32)) + "<br>" + escape(hash.substr(32)) + "</span>";
  }
  return html::element("span", hash, "hash");
}

std::string dl_row(const std::string& term, const std::string& detail_html) {
  return "<dt>" + escape(term) + "</dt><dd>" + detail_html + "</dd>";
}

std::string definition_list(const std::vector<std::pair<std::string, std::string>>& rows, HtmlReportTarget target) {
  std::string out;
  if (target == HtmlReportTarget::pdf) {
    for (const auto& [term, detail] : rows) out += "<p><b>" + escape(term) + "</b><br>" + detail + "</p>";
    return out + "\n";
  }
  out = "<dl>";
  for (const auto& [term, detail] : rows) out += dl_row(term, detail);
  return out + "</dl>\n";
}

// "created <time>, stages finished <time of the last stage's end>".
std::string run_times(const checkpoints::RunState& state) {
  std::string last;
  for (const auto& record : state.stages) last = std::max(last, record.finished_at);
  return "created " + state.created_at + (last.empty() ? std::string() : ", stages finished " + last);
}

std::string list_text(const nlohmann::json& list) {
  std::string out;
  for (const auto& item : list) {
    if (!item.is_string()) continue;
    out += (out.empty() ? "" : ", ") + item.get<std::string>();
  }
  return out.empty() ? "–" : out;
}

// The host of the provider's base URL, without scheme, user, port or path:
// a loopback address and port says nothing to the reader of a forwarded report.
std::string provider_host(std::string_view url) {
  std::string_view host = url;
  if (const auto scheme = host.find("://"); scheme != std::string_view::npos) host = host.substr(scheme + 3);
  host = host.substr(0, host.find_first_of("/?#"));
  if (const auto at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    host = close == std::string_view::npos ? host.substr(1) : host.substr(1, close - 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  return host.empty() ? std::string("–") : std::string(host);
}

// The provenance section, ending with the chart.
std::string provenance_html(const checkpoints::RunState& state, HtmlReportTarget target) {
  std::string out = "<section class=\"provenance\">\n<h2 class=\"section-title\">Provenance</h2>\n";
  const auto& input = state.input;
  const std::string company = state.brand.company_name.empty() ? state.brand.id : state.brand.company_name;
  const auto& settings = state.settings;
  out += definition_list(
      {{"Document", escape(title_of(state)) + "<br>" + escape(html::file_name(input.source)) + "<br>" +
                        escape(fmt::format("{} pages, {} characters of text", input.pages, grouped(static_cast<std::int64_t>(input.chars)))) +
                        "<br>" + hash_html(input.sha256, target)},
       {"Brand", escape(company + " (" + state.brand.id + ")") + "<br>" +
                     hash_html(state.brand.sha256, target)},
       // Only what a later rendering of the same run says alike: no time of the last save.
       {"Run", escape(state.run_id) + "<br>" + escape(run_times(state))},
       {"Provider", escape(provider_host(settings.value("base_url", std::string()))) + "<br>" +
                        escape("model " + settings.value("model", std::string("–")) + ", structured output " +
                               settings.value("structured_output", std::string("auto")))},
       {"Tool", escape(fmt::format("pipeline {} made the run; pipeline {} wrote this page", state.tool_version,
                                   PIPELINE_VERSION))}},
      target);

  // The figures last: MuPDF pads no table cell, and a number against the next column's text would run into it.
  std::string table = "<table class=\"plain stages\"><thead><tr><th>Stage</th><th>Status</th><th>Models</th>"
         "<th>Structured output</th><th class=\"num\">Time</th><th class=\"num\">Tokens</th><th class=\"num\">Money</th>"
         "</tr></thead><tbody>";
  for (const auto& record : state.stages) {
    const stages::Stage* stage = stages::find_stage(std::to_string(record.number));
    const auto figures = stage_figures(record);
    std::string status(checkpoints::to_string(record.status));
    if (record.cached) status += ", from the stage cache";
    const auto answered = stages::answered_by(record);
    const std::string name = stage && target == HtmlReportTarget::browser ? stages::stage_heading(*stage)
                                                                          : fmt::format("{}. {}", record.number, record.name);
    table += "<tr>" + html::element("td", name) + html::element("td", status) +
           html::element("td", list_text(answered["models"])) + html::element("td", list_text(answered["rungs"])) +
           html::element("td", figures.seconds ? seconds(*figures.seconds) : "–", "num") +
           html::element("td", record.usage.empty() ? "–" : tokens_text(record) + prompt_cache_text(record) + reasoning_text(record), "num") +
           html::element("td", record.usage.empty() ? "–" : cost_text(figures.cost_usd), "num") + "</tr>";
  }
  out += "<h3>Stages</h3>\n" + html::scroll_box(table + "</tbody></table>", "Stages") + "\n";

  table = "<table class=\"plain parts\"><thead><tr><th>Stage</th><th>Part</th><th>Model</th>"
         "<th>Rung</th><th class=\"num\">Tokens</th><th class=\"num\">Money</th></tr></thead><tbody>";
  for (const auto& record : state.stages) {
    for (const auto& part : record.parts) {
      const auto usage = llm::Usage::from_json(part.usage);
      const bool reported = part.usage.value("prompt_tokens", nlohmann::json()).is_number();
      table += "<tr>" + html::element("td", fmt::format("{}. {}", record.number, record.name)) +
             html::element("td", part.name) + html::element("td", part.model.empty() ? "–" : part.model) +
             html::element("td", part.rung.empty() ? "–" : part.rung) +
             html::element("td", reported ? grouped(usage.prompt_tokens + usage.completion_tokens) : "not reported", "num") +
             html::element("td", cost_text(usage.cost_usd), "num") + "</tr>";
    }
  }
  out += "<h3>Requests</h3>\n" + html::scroll_box(table + "</tbody></table>", "Requests") + "\n";

  table = "<table class=\"plain prompts\"><thead><tr><th>Prompt</th><th>SHA-256</th></tr></thead><tbody>";
  const std::string prefix = "input/prompts/";
  for (const auto& file : state.files) {
    if (file.path.rfind(prefix, 0) != 0) continue;
    table += "<tr>" + html::element("td", file.path.substr(prefix.size())) + "<td>" + hash_html(file.sha256, target) + "</td></tr>";
  }
  out += "<h3>Prompts</h3>\n" + html::scroll_box(table + "</tbody></table>", "Prompts") + "\n";
  out += "<h3>Time, tokens and money per stage</h3>\n" + chart_html(state, target);
  return out + "</section>\n";
}

}  // namespace html_report_page
}  // namespace

std::string render_html_report(const checkpoints::RunState& state, const std::map<int, nlohmann::json>& outputs,
                               HtmlReportTarget target, const nlohmann::json& review) {
  using namespace html_report_page;
  const std::string company = state.brand.company_name.empty() ? state.brand.id : state.brand.company_name;
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  // Nothing may be fetched, and nothing run: the page is a document, also as a mail attachment.
  out += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n";
  out += html::element("title", "Opportunity cards for " + company + ": " + title_of(state)) + "\n";
  out += "<style>" + std::string(k_common_css) + (target == HtmlReportTarget::pdf ? k_pdf_css : k_browser_css) +
         "</style>\n</head>\n<body>\n<main>\n";
  out += masthead_html(state, outputs);
  out += cards_html(state, outputs, target, review);
  out += analyses_html(state, outputs, target);
  out += provenance_html(state, target);
  out += "<footer class=\"colophon\">" +
         escape(fmt::format("Made by pipeline {} from run {}. The cards are a model's proposals from the document and "
                            "the brand profile; every figure on them is an estimate to be checked.",
                            PIPELINE_VERSION, state.run_id)) +
         "</footer>\n</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace pipeline::report

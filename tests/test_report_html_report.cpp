#include <doctest/doctest.h>

#include <fmt/format.h>

#include "lib/util/sha256.hpp"
#include "report/html.hpp"
#include "report/html_report.hpp"
#include "report/report.hpp"
#include "stages/run_files.hpp"
#include "stages/vocabulary.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sample_run.hpp"
#include "tests/support/stage_samples.hpp"

using namespace pipeline;
using report::HtmlReportTarget;

namespace {

struct HtmlSampleRun {
  testing::TempDir dir;
  std::unique_ptr<checkpoints::RunStore> store = checkpoints::make_file_run_store(dir / "runs");
  checkpoints::RunState state = testing::make_sample_run(*store, dir.path(), "sample-acme");

  std::map<int, nlohmann::json> outputs() const { return report::load_stage_outputs(*store, state).value_or_throw(); }
};

size_t html_count(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

// The text of every <article class="card ..."> ... </article>, in order.
std::vector<std::string> html_cards(const std::string& page) {
  std::vector<std::string> cards;
  for (auto at = page.find("<article class=\"card "); at != std::string::npos;
       at = page.find("<article class=\"card ", at + 1)) {
    cards.push_back(page.substr(at, page.find("</article>", at) - at));
  }
  return cards;
}

}  // namespace

TEST_CASE("the page shows the five cards in pattern order with their titles, figures and parts") {
  HtmlSampleRun run;
  const std::string page = report::render_html_report(run.state, run.outputs());
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  const auto cards = html_cards(page);
  REQUIRE(cards.size() == 5);
  const auto& patterns = stages::vocabulary::patterns();
  for (size_t i = 0; i < cards.size(); ++i) {
    const auto& card = testing::sample_output(5).at(patterns[i]);
    CAPTURE(patterns[i]);
    // Every text of the card is on it, as the page escapes it.
    const auto shows = [&](const nlohmann::json& text) {
      return cards[i].find(report::html::escape(text.get<std::string>())) != std::string::npos;
    };
    CHECK(cards[i].find("data-pattern=\"" + patterns[i] + "\"") != std::string::npos);
    CHECK(cards[i].find(">" + stages::vocabulary::pattern_label(patterns[i]) + "</span>") != std::string::npos);
    CHECK(shows(card.at("title")));
    CHECK(shows(card.at("price_point")));
    CHECK(shows(card.at("shelf")));
    for (const char* part : {"what", "who", "how_why_now"}) CHECK(shows(card.at("description").at(part)));
    for (const char* kind : {"production_trial", "retailer_test", "claim_proof"}) {
      CHECK(shows(card.at("next_steps").at(kind).at("action")));
    }
    CHECK(shows(card.at("buyer_questions").at("trade_terms")));
    CHECK(shows(card.at("buyer_questions").at("versus_competitor").at("question")));
    const auto& retail = card.at("retail");
    CHECK(cards[i].find(fmt::format("{:.2f} {}", retail.at("price").get<double>(), retail.at("currency").get<std::string>())) !=
          std::string::npos);
    CHECK(cards[i].find(std::to_string(retail.at("months_to_launch").get<int>()) + "</span>") != std::string::npos);
  }
  // The analyses of stages 1 to 4 follow the cards, collapsed.
  CHECK(html_count(page, "<details id=\"stage-") == 4);
  CHECK(page.find("<details id=\"stage-1\">") > page.rfind("</article>"));
  CHECK(page.find("Collect without queuing", page.find("<details id=\"stage-1\">")) != std::string::npos);
  CHECK(page.find("<script") == std::string::npos);
}

TEST_CASE("text from the model is escaped: markup, <script> and </style> show as text") {
  HtmlSampleRun run;
  auto outputs = run.outputs();
  const std::string hostile = "<script>alert(1)</script></style><img src=x onerror=alert(2)> & \"quoted\" 'single'";
  outputs[5]["convenience"]["title"] = hostile;
  outputs[5]["convenience"]["description"]["what"] = "</style><style>body{display:none}</style>";
  outputs[5]["premiumisation"]["shelf"] = "<a href=\"https://example.com/track\">look</a>";
  outputs[1]["mechanisms"][0]["name"] = "**bold** <b>not bold</b>";
  auto state = run.state;
  state.input.title = "Title </title><script>x()</script>";
  state.stage(2).warnings.push_back("answer: <iframe src=//evil>");
  for (auto target : {HtmlReportTarget::browser, HtmlReportTarget::pdf}) {
    const std::string page = report::render_html_report(state, outputs, target);
    CHECK(page.find("<script") == std::string::npos);
    CHECK(page.find("<img") == std::string::npos);
    CHECK(page.find("<iframe") == std::string::npos);
    CHECK(page.find("<a href=\"https") == std::string::npos);
    CHECK(html_count(page, "</style>") == 1);
    CHECK(html_count(page, "</title>") == 1);
    CHECK(page.find("&lt;script&gt;alert(1)&lt;/script&gt;&lt;/style&gt;&lt;img src=x onerror=alert(2)&gt; &amp; "
                    "&quot;quoted&quot; &#39;single&#39;") != std::string::npos);
    CHECK(page.find("&lt;/style&gt;&lt;style&gt;body{display:none}&lt;/style&gt;") != std::string::npos);
    CHECK(page.find("&lt;iframe src=//evil&gt;") != std::string::npos);
    // Markdown from the stages' renderings is read; HTML in it is not.
    CHECK(page.find("<strong>bold</strong> &lt;b&gt;not bold&lt;/b&gt;") != std::string::npos);
  }
}

TEST_CASE("warnings are shown where they apply: a card's on that card, a stage's in its section") {
  HtmlSampleRun run;
  auto state = run.state;
  state.stage(1).warnings = {"answer: $.mechanisms[0].structural_sentence: does not match the pattern"};
  state.stage(5).warnings.push_back("plan: $.convenience.title: longer than eight words");
  const std::string page = report::render_html_report(state, run.outputs());
  const auto cards = html_cards(page);
  REQUIRE(cards.size() == 5);
  for (size_t i = 0; i < cards.size(); ++i) {
    const bool convenience = stages::vocabulary::patterns()[i] == "convenience";
    CAPTURE(i);
    CHECK((cards[i].find(report::html::escape(testing::k_sample_card_warning)) != std::string::npos) == convenience);
    CHECK((cards[i].find("class=\"warnings\"") != std::string::npos) == convenience);
  }
  const auto stage1 = page.find("<details id=\"stage-1\">");
  const auto stage2 = page.find("<details id=\"stage-2\">");
  const auto warning = page.find("$.mechanisms[0].structural_sentence: does not match the pattern");
  CHECK(stage1 < warning);
  CHECK(warning < stage2);
  CHECK(page.find("1 warning</span>") != std::string::npos);
  // The plan's warning concerns all five cards: above them, not on one.
  const auto plan = page.find("$.convenience.title: longer than eight words");
  CHECK(plan != std::string::npos);
  CHECK(plan < page.find("<article class=\"card "));
}

TEST_CASE("the provenance names the document, the brand, the model and rung of every request, the prompts' hashes and the tool") {
  HtmlSampleRun run;
  const std::string page = report::render_html_report(run.state, run.outputs());
  const auto provenance = page.substr(page.find("<section class=\"provenance\">"));
  CHECK(provenance.find("Nordvik Bakery&#39;s station lockers") != std::string::npos);
  CHECK(provenance.find(run.state.input.sha256) != std::string::npos);
  CHECK(provenance.find("Acme Foods GmbH (acme-foods)") != std::string::npos);
  CHECK(provenance.find(run.state.brand.sha256) != std::string::npos);
  CHECK(provenance.find(std::string("pipeline ") + run.state.tool_version + " made the run") != std::string::npos);
  for (const auto& record : run.state.stages) {
    for (const auto& part : record.parts) {
      const std::string row = "<td>" + std::to_string(record.number) + ". " + record.name + "</td><td>" + part.name +
                              "</td><td>openai/gpt-4o-mini</td><td>strict</td>";
      CHECK_MESSAGE(provenance.find(row) != std::string::npos, row);
    }
  }
  int prompts = 0;
  for (const auto& file : run.state.files) {
    if (file.path.rfind("input/prompts/", 0) != 0) continue;
    ++prompts;
    CHECK(provenance.find(file.sha256) != std::string::npos);
  }
  CHECK(prompts >= 5);
  // The chart: one bar per stage for each of time, tokens and money, each figure as text beside its stage.
  const auto chart = provenance.substr(provenance.find("<div class=\"chart\">"));
  CHECK(html_count(chart, "background-color: #1f3a5f") == 5);
  CHECK(html_count(chart, "background-color: #4f7cac") == 5);
  CHECK(html_count(chart, "background-color: #99590e") == 5);
  CHECK(html_count(chart, "width: 100.0%") == 3);
  CHECK(chart.find(">1. Mechanisms</span>") != std::string::npos);
  CHECK(chart.find("<span class=\"bar-value\">48 s</span>") != std::string::npos);
  CHECK(chart.find("<span class=\"bar-value\">8.2 s</span>") != std::string::npos);
  CHECK(chart.find("<svg") == std::string::npos);
  // Each wide table scrolls in a box a keyboard can focus and a screen reader names.
  CHECK(provenance.find("<div class=\"scroll-box\" role=\"region\" tabindex=\"0\" aria-label=\"Stages\"><table") !=
        std::string::npos);
}

TEST_CASE("a completed run writes report.html beside report.md, both recorded with their SHA-256") {
  HtmlSampleRun run;
  std::vector<std::string> recorded;
  for (const auto& file : run.state.files) {
    if (file.path != "report.md" && file.path != "report.html") continue;
    recorded.push_back(file.path);
    const auto content = run.store->read_artifact(run.state.run_id, file.path);
    REQUIRE(content);
    CHECK(util::sha256_hex(*content) == file.sha256);
  }
  CHECK(recorded == std::vector<std::string>{"report.md", "report.html"});
  CHECK(*run.store->read_artifact(run.state.run_id, stages::k_html_report_path) ==
        report::render_html_report(run.state, run.outputs()));
  // Writing them again replaces the records instead of adding to them.
  auto state = run.state;
  REQUIRE(report::write_reports(*run.store, state));
  CHECK(state.files.size() == run.state.files.size());
}

TEST_CASE("the PDF variant keeps the content but leaves out what MuPDF cannot lay out") {
  HtmlSampleRun run;
  const std::string page = report::render_html_report(run.state, run.outputs(), HtmlReportTarget::pdf);
  CHECK(html_cards(page).size() == 5);
  CHECK(page.find("<details") == std::string::npos);
  CHECK(page.find("display: grid") == std::string::npos);
  CHECK(page.find("Collect without queuing") != std::string::npos);
  // The chart as blocks MuPDF draws as rectangles, with every figure as text.
  CHECK(page.find("<svg") == std::string::npos);
  CHECK(html_count(page, "<div class=\"bar\" style=\"width: ") == 15);
  const auto bar_label = page.find("<p class=\"bar-label\">1. Mechanisms: ");
  REQUIRE(bar_label != std::string::npos);
  INFO(page.substr(bar_label, 200));
  CHECK(html_count(page, "<p class=\"bar-label\">") == 15);
  CHECK(page.find("<p><b>Tokens</b></p>") != std::string::npos);
  CHECK(page.find(" 48 s</p>") != std::string::npos);
}

TEST_CASE("a stage not done is said so instead of its analysis or the cards") {
  HtmlSampleRun run;
  auto outputs = run.outputs();
  outputs.erase(3);
  outputs.erase(5);
  const std::string page = report::render_html_report(run.state, outputs);
  CHECK(html_cards(page).empty());
  CHECK(page.find("The cards are not done yet") != std::string::npos);
  const auto stage3 = page.find("<details id=\"stage-3\">");
  CHECK(page.find("Not done yet.", stage3) < page.find("<details id=\"stage-4\">"));
}

TEST_CASE("the provenance names the document's file and the provider's host, not local paths and ports") {
  HtmlSampleRun run;
  run.state.input.source = "/home/analyst/private/clients/case-study.pdf";
  run.state.settings["base_url"] = "http://127.0.0.1:18231/v1";
  for (auto target : {HtmlReportTarget::browser, HtmlReportTarget::pdf}) {
    const std::string page = report::render_html_report(run.state, run.outputs(), target);
    const std::string provenance = page.substr(page.find("<section class=\"provenance\">"));
    CHECK(provenance.find("case-study.pdf") != std::string::npos);
    CHECK(page.find("/home/analyst") == std::string::npos);
    CHECK(provenance.find("127.0.0.1") != std::string::npos);
    CHECK(page.find("18231") == std::string::npos);
    CHECK(page.find("http://127.0.0.1") == std::string::npos);
  }
  run.state.input.source = "https://example.org/studies/refill.pdf?token=secret";
  run.state.settings["base_url"] = "https://user:pw@api.example.com:8443/v1";
  const std::string page = report::render_html_report(run.state, run.outputs());
  CHECK(page.find("refill.pdf") != std::string::npos);
  CHECK(page.find("token=secret") == std::string::npos);
  CHECK(page.find("api.example.com") != std::string::npos);
  CHECK(page.find("user:pw") == std::string::npos);
  CHECK(page.find("8443") == std::string::npos);
}

TEST_CASE("a review shows its scores and reasons on each card, escaped, and nowhere without one") {
  HtmlSampleRun run;
  nlohmann::json review = {{"model", "judge-mini"}, {"cards", nlohmann::json::object()}};
  int n = 0;
  for (const auto& pattern : stages::vocabulary::patterns()) {
    ++n;
    review["cards"][pattern] = {{"model", "judge-mini"},
                                {"novelty", {{"score", n}, {"reason", "Seen <b>before</b> at " + pattern}}},
                                {"actionability", {{"score", 5}, {"reason", "Dated steps"}}},
                                {"brand_fit", {{"score", 4}, {"reason", "Uses the bakery"}}},
                                {"specificity", {{"score", 3}, {"reason", "Pack size missing"}}}};
  }
  for (auto target : {HtmlReportTarget::browser, HtmlReportTarget::pdf}) {
    const auto cards = html_cards(report::render_html_report(run.state, run.outputs(), target, review));
    REQUIRE(cards.size() == 5);
    for (size_t i = 0; i < cards.size(); ++i) {
      const auto& pattern = stages::vocabulary::patterns()[i];
      CAPTURE(pattern);
      CHECK(cards[i].find("Second opinion (judge-mini)") != std::string::npos);
      CHECK(cards[i].find(fmt::format("<b>Novelty {}/5</b> Seen &lt;b&gt;before&lt;/b&gt; at {}", i + 1, pattern)) !=
            std::string::npos);
      CHECK(cards[i].find("<b>Brand fit 4/5</b> Uses the bakery") != std::string::npos);
    }
  }
  const std::string plain = report::render_html_report(run.state, run.outputs());
  CHECK(plain.find("Second opinion") == std::string::npos);
  CHECK(plain.find("class=\"review\"") == std::string::npos);
}

#include "report/report.hpp"

#include <fmt/format.h>

#include "lib/pdf/html_pdf.hpp"
#include "lib/util/error.hpp"
#include "lib/util/json_text.hpp"
#include "report/html_report.hpp"
#include "review/card_review.hpp"
#include "stages/markdown.hpp"
#include "stages/run_files.hpp"
#include "stages/stage_files.hpp"
#include "stages/stage_registry.hpp"
#include "stages/vocabulary.hpp"

namespace pipeline::report {

namespace markdown = stages::markdown;

util::Expected<void> check_run_complete(const checkpoints::RunState& state) {
  for (const auto& stage : stages::all_stages()) {
    const auto& record = state.stage(stage->number());
    if (record.status == checkpoints::StageStatus::done) continue;
    return util::fail(util::ErrorKind::bad_input,
                      fmt::format("run {} is not complete: stage {} ({}) is {}, not done; finish it with `pipeline "
                                   "resume {}`",
                                   state.run_id, stage->number(), stage->name(), checkpoints::to_string(record.status),
                                   state.run_id));
  }
  return {};
}

util::Expected<std::string> render_pdf_report(const checkpoints::RunState& state,
                                              const std::map<int, nlohmann::json>& outputs,
                                              const nlohmann::json& review) {
  pdf::HtmlPdfOptions layout;
  const std::string company = state.brand.company_name.empty() ? state.brand.id : state.brand.company_name;
  layout.title = "Opportunity cards for " + company + ": " + (state.input.title.empty() ? state.run_id : state.input.title);
  layout.author = "pipeline " PIPELINE_VERSION;
  layout.language = "en";
  layout.margin = 48;
  layout.font_size = 10.5;
  return pdf::render_html_pdf(render_html_report(state, outputs, HtmlReportTarget::pdf, review), layout);
}

namespace {

// The review's section of report.md: per card its title, scores and reasons.
std::string review_markdown(const nlohmann::json& reviewed) {
  const auto& cards = markdown::child(reviewed, "cards");
  if (!cards.is_object() || cards.empty()) return {};
  std::string out = markdown::heading(2, "Second opinion on the cards");
  out += markdown::paragraph(fmt::format("Scored from 1 to 5 by {} (`pipeline review`); the review judges the cards "
                                         "and changes nothing on them.",
                                         markdown::text(reviewed, "model")));
  for (const auto& pattern : stages::vocabulary::patterns()) {
    const auto& card = markdown::child(cards, pattern);
    if (!card.is_object()) continue;
    out += markdown::heading(3, stages::vocabulary::pattern_label(pattern) + ": " + markdown::text(card, "title"));
    std::vector<std::vector<std::string>> rows;
    for (const auto& criterion : review::criteria()) {
      const auto& entry = markdown::child(card, criterion);
      rows.push_back({review::criterion_label(criterion), markdown::number(markdown::child(entry, "score")),
                      markdown::text(entry, "reason")});
    }
    out += markdown::table({"Criterion", "Score", "Reason"}, rows);
  }
  return out;
}

}  // namespace

std::string render_report(const std::string& run_id, const std::map<int, nlohmann::json>& outputs,
                          const std::map<int, std::vector<std::string>>& warnings, const nlohmann::json& review) {
  std::string out = markdown::heading(1, "Innovation report: " + run_id);
  std::vector<std::string> contents;
  for (const auto& stage : stages::all_stages()) contents.push_back(stages::stage_heading(*stage));
  out += markdown::bullet_list(contents);
  for (const auto& stage : stages::all_stages()) {
    auto found = outputs.find(stage->number());
    if (found == outputs.end()) {
      out += markdown::heading(2, stages::stage_heading(*stage));
      out += markdown::paragraph("*Not done yet.*");
      continue;
    }
    const std::string wanted = stages::stage_file_path(*stage, "md");
    for (const auto& file : stage->render(found->second)) {
      if (file.path == wanted) out += markdown::demote_headings(file.content) + "\n";
    }
    if (auto noted = warnings.find(stage->number()); noted != warnings.end() && !noted->second.empty()) {
      out += markdown::paragraph("**Warnings.** The model's answer still breaks these style rules after every re-ask; "
                                 "it was kept because its content is complete:");
      out += markdown::bullet_list(noted->second) + "\n";
    }
  }
  out += review_markdown(review);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out + "\n";
}

util::Expected<std::map<int, nlohmann::json>> load_stage_outputs(const checkpoints::RunStore& store,
                                                                 const checkpoints::RunState& state) {
  std::map<int, nlohmann::json> outputs;
  for (const auto& stage : stages::all_stages()) {
    if (state.stage(stage->number()).status != checkpoints::StageStatus::done) continue;
    auto text = store.read_artifact(state.run_id, stages::output_path(*stage));
    if (!text) return text.error();
    auto json = util::parse_json_or_discarded(*text);
    if (json.is_discarded()) {
      return util::fail(util::ErrorKind::bad_input,
                        fmt::format("the output of stage {} in run {} is not valid JSON; redo it with `pipeline resume "
                                    "{} --from {}`",
                                    stage->number(), state.run_id, state.run_id, stage->name()));
    }
    outputs[stage->number()] = std::move(json);
  }
  return outputs;
}

util::Expected<void> write_reports(checkpoints::RunStore& store, checkpoints::RunState& state) {
  auto outputs = load_stage_outputs(store, state);
  if (!outputs) return outputs.error();
  auto loaded = review::load_review(store, state);
  if (!loaded) return loaded.error();
  const nlohmann::json reviewed = loaded->value_or(nlohmann::json());
  std::map<int, std::vector<std::string>> warnings;
  for (const auto& record : state.stages) warnings[record.number] = record.warnings;
  auto markdown = store.write_artifact(state.run_id, stages::k_report_path,
                                       render_report(state.run_id, *outputs, warnings, reviewed));
  if (!markdown) return markdown.error();
  auto page = store.write_artifact(state.run_id, stages::k_html_report_path,
                                   render_html_report(state, *outputs, HtmlReportTarget::browser, reviewed));
  if (!page) return page.error();
  std::erase_if(state.files, [](const auto& file) {
    return file.path == stages::k_report_path || file.path == stages::k_html_report_path;
  });
  state.files.push_back(*markdown);
  state.files.push_back(*page);
  return {};
}

}  // namespace pipeline::report

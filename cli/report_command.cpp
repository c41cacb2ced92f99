// `pipeline report <run_id> [--format html|md|pdf] [-o FILE]`: a completed
// run's report, rendered again from its stages' outputs.

#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/app.hpp"
#include "cli/run_support.hpp"
#include "lib/pdf/html_pdf.hpp"
#include "lib/util/error.hpp"
#include "lib/util/file_io.hpp"
#include "report/html_report.hpp"
#include "report/report.hpp"
#include "review/card_review.hpp"
#include "stages/run_files.hpp"
#include "stages/stage_registry.hpp"

namespace pipeline::cli {
namespace {

using util::ErrorKind;
using util::FatalError;

// Where `pipeline report --format pdf` puts the PDF without -o: beside report.html.
constexpr const char* k_pdf_report_path = "report.pdf";

struct ReportOptions {
  std::string run_id;
  std::string format = "html";
  std::string output;
};


void run_report(const GlobalOptions& options, const ReportOptions& report) {
  auto store = open_store(options);
  checkpoints::RunState state = store->load(report.run_id).value_or_throw();
  report::check_run_complete(state).value_or_throw();
  const auto outputs = report::load_stage_outputs(*store, state).value_or_throw();
  const auto review = review::load_review(*store, state).value_or_throw().value_or(nlohmann::json());

  std::string content;
  if (report.format == "md") {
    std::map<int, std::vector<std::string>> warnings;
    for (const auto& record : state.stages) warnings[record.number] = record.warnings;
    content = report::render_report(state.run_id, outputs, warnings, review);
  } else if (report.format == "pdf") {
    content = report::render_pdf_report(state, outputs, review).value_or_throw();
  } else {
    content = report::render_html_report(state, outputs, report::HtmlReportTarget::browser, review);
  }

  if (!report.output.empty()) {
    util::write_file_atomic(report.output, content).value_or_throw();
    print_human(options, "report: " + report.output);
    return;
  }
  if (report.format == "pdf") {
    // PDF bytes are no terminal text: without -o the PDF goes beside the run's other reports.
    store->write_artifact(state.run_id, k_pdf_report_path, content).value_or_throw();
    print_human(options, fmt::format("report: {}/{}", store->location(state.run_id), k_pdf_report_path));
    return;
  }
  std::cout << content;
  std::cout.flush();
}

}  // namespace

void register_report_command(CLI::App& app, GlobalOptions& options) {
  auto report = std::make_shared<ReportOptions>();
  auto* command = app.add_subcommand("report", "Render a completed run's report again: HTML, Markdown or PDF");
  command->footer(
      "Renders the report from the run's stage outputs, as the run wrote report.html and\n"
      "report.md when it completed; any completed run works, also one made by an older version.\n"
      "\n"
      "  html   one self-contained page: inline CSS and SVG, no script, nothing fetched\n"
      "  md     the Markdown of report.md\n"
      "  pdf    the same content laid out by MuPDF, no browser needed; without -o it is\n"
      "         written as report.pdf in the run folder\n"
      "\n"
      "Without -o, html and md go to stdout. With -o the file is replaced atomically.\n"
      "\n"
      "Exit codes: 0 ok; 3 run not found, a stage not done (the message names it), or a\n"
      "changed artifact; 2 usage error.\n"
      "\n"
      "Examples:\n"
      "  pipeline report <run_id> > cards.html\n"
      "  pipeline report <run_id> --format pdf -o cards.pdf");
  command->add_option("run_id", report->run_id, "The run")->required();
  command->add_option("--format", report->format, "html (default), md or pdf")
      ->check(CLI::IsMember({"html", "md", "pdf"}));
  command->add_option("-o,--output", report->output, "Write the report to this file instead of stdout");
  command->callback([&options, report] { run_report(options, *report); });
}

}  // namespace pipeline::cli

#include <cmath>
#include <iostream>

#include "cli/app.hpp"
#include "lib/pdf/ingest.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/log.hpp"

namespace pipeline::cli {
namespace {

pdf::ExtractedDocument extract_input(const std::string& input, const GlobalOptions& options) {
  if (pdf::is_url(input)) util::log_verbose("downloading " + input);
  return pdf::ingest(input, ingest_options(options), util::CancelToken{}).value_or_throw();
}

void run_extract(const std::string& input, const GlobalOptions& options) {
  const auto document = extract_input(input, options);
  if (options.json) {
    print_json({{"path", document.path},
                {"sha256", document.sha256},
                {"bytes", document.bytes},
                {"pages", document.pages},
                {"chars", document.chars()},
                {"title", document.title},
                {"text", document.text}});
    return;
  }
  std::cout << document.text;
  if (!document.text.empty() && document.text.back() != '\n') std::cout << '\n';
  std::cout.flush();
}

}  // namespace

void register_extract_command(CLI::App& app, GlobalOptions& options) {
  auto* command = app.add_subcommand("extract", "Print the text of a PDF (a file or an http(s) URL)");
  command->footer(
      "Prints the text of every page in reading order, with words hyphenated at a line end\n"
      "joined again; pages are separated by a form feed (\\f).\n"
      "\n"
      "An http:// or https:// URL is downloaded first (at most 5 redirects and\n"
      "--max-download-mb, default 100); other schemes such as file:// are refused, and\n"
      "so is a URL whose host (or a redirect's) is a loopback, private, link-local or\n"
      "carrier-grade NAT address, unless --allow-private-urls is given.\n"
      "\n"
      "Options that apply (before or after `extract`):\n"
      "  --json                 print {path, sha256, bytes, pages, chars, title, text} instead\n"
      "  --max-download-mb N    largest PDF downloaded from a URL\n"
      "  --allow-private-urls   let a URL reach private addresses (PIPELINE_ALLOW_PRIVATE_URLS=1)\n"
      "  --max-pages N          most pages a PDF may have (default 2000)\n"
      "  --max-text-mb N        most text read, in MB (default 20); reading stops there\n"
      "  -v, --verbose          also show MuPDF's own warnings and errors\n"
      "\n"
      "Exit codes: 0 ok; 3 the input is missing, a directory, empty, not a PDF, truncated\n"
      "or damaged, password-protected, has no text layer (OCR is not supported), has more\n"
      "pages or text than the limits, or cannot be downloaded (a private address\n"
      "included); 130/143 stopped by SIGINT/SIGTERM (within a second, mid-page too); 2 usage\n"
      "error.\n"
      "\n"
      "Examples:\n"
      "  pipeline extract report.pdf > report.txt\n"
      "  pipeline extract https://example.com/case-study.pdf --json");
  auto input = std::make_shared<std::string>();
  command->add_option("input", *input, "Path of a PDF file, or an http:// or https:// URL")->required();
  command->callback([input, &options] { run_extract(*input, options); });
}

}  // namespace pipeline::cli

#include <stdlib.h>

#include <cmath>
#include <iostream>
#include <system_error>

#include "cli/app.hpp"
#include "lib/pdf/download.hpp"
#include "lib/pdf/extract.hpp"
#include "lib/util/error.hpp"
#include "lib/util/log.hpp"

namespace pipeline::cli {
namespace {

namespace fs = std::filesystem;

// A private temporary folder for a downloaded PDF, removed at scope exit.
class DownloadFolder {
 public:
  DownloadFolder() {
    std::string pattern = (fs::temp_directory_path() / "pipeline-download-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) {
      throw util::FatalError(util::ErrorKind::failed, "cannot create a temporary folder for the download");
    }
    m_path = pattern;
  }
  ~DownloadFolder() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  DownloadFolder(const DownloadFolder&) = delete;
  DownloadFolder& operator=(const DownloadFolder&) = delete;
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

pdf::ExtractedDocument extract_input(const std::string& input, const GlobalOptions& options) {
  if (!pdf::has_url_scheme(input)) return pdf::extract_text(input).value_or_throw();
  pdf::DownloadOptions download;
  download.max_bytes = static_cast<std::uint64_t>(std::llround(options.max_download_mb * 1024 * 1024));
  download.connect_timeout_s = static_cast<long>(std::ceil(options.connect_timeout_s));
  DownloadFolder folder;
  const fs::path file = folder.path() / "input.pdf";
  util::log_verbose("downloading " + input);
  pdf::download(input, file, download).value_or_throw();
  auto document = pdf::extract_text(file);
  if (!document) {
    // Name the URL the user gave, not the temporary file.
    auto error = document.error();
    for (auto at = error.message.find(file.string()); at != std::string::npos;
         at = error.message.find(file.string(), at + input.size())) {
      error.message.replace(at, file.string().size(), input);
    }
    throw util::FatalError(error);
  }
  document->path = input;
  return std::move(document).value();
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
      "--max-download-mb, default 100); other schemes such as file:// are refused.\n"
      "\n"
      "Options that apply (before or after `extract`):\n"
      "  --json                 print {path, sha256, bytes, pages, chars, title, text} instead\n"
      "  --max-download-mb N    largest PDF downloaded from a URL\n"
      "  -v, --verbose          also show MuPDF's own warnings and errors\n"
      "\n"
      "Exit codes: 0 ok; 3 the input is missing, a directory, empty, not a PDF, truncated\n"
      "or damaged, password-protected, has no text layer (OCR is not supported), or\n"
      "cannot be downloaded; 2 usage error.\n"
      "\n"
      "Examples:\n"
      "  pipeline extract report.pdf > report.txt\n"
      "  pipeline extract https://example.com/case-study.pdf --json");
  auto input = std::make_shared<std::string>();
  command->add_option("input", *input, "Path of a PDF file, or an http:// or https:// URL")->required();
  command->callback([input, &options] { run_extract(*input, options); });
}

}  // namespace pipeline::cli

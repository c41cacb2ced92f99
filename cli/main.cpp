#include <cstdio>
#include <exception>

#include "cli/app.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/error.hpp"
#include "lib/util/log.hpp"

namespace {

int report(pipeline::util::ErrorKind kind, const char* message) {
  std::fprintf(stderr, "pipeline: error: %s\n", message);
  return pipeline::util::exit_code(kind, pipeline::util::received_stop_signal());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pipeline;
  util::install_stop_signal_handlers();
  CLI::App app{"pipeline: turns a PDF about an innovation into five brand-specific opportunity cards", "pipeline"};
  app.set_version_flag("--version", std::string("pipeline ") + PIPELINE_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Global options may stand before or after the command; each has an environment fallback\n"
      "where shown (precedence: flag, environment, default). The API key is read only from\n"
      "PIPELINE_API_KEY, else OPENROUTER_API_KEY, else OPENAI_API_KEY.\n\n"
      "Exit codes: 0 ok; 1 failed; 2 usage error; 3 bad input (PDF, brand, run not found, corrupt\n"
      "checkpoint); 4 provider error that needs a person; 5 run busy; 6 time budget too small for a\n"
      "stage; 7 cost cap (--max-cost) reached; 75 incomplete but resumable; 130/143 interrupted by\n"
      "SIGINT/SIGTERM after saving.");
  cli::GlobalOptions options;
  cli::register_global_options(app, options);
  cli::register_extract_command(app, options);
  cli::register_brands_command(app, options);
  cli::register_doctor_command(app, options);
  cli::register_run_commands(app, options);
  cli::register_batch_command(app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "pipeline: error: %s (see pipeline --help)\n", e.what());
    return util::exit_code(util::ErrorKind::usage);
  } catch (const util::FatalError& e) {
    return report(e.kind(), e.what());
  } catch (const std::exception& e) {
    return report(util::ErrorKind::failed, e.what());
  }
  return 0;
}

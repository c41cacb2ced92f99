#include <cstdio>
#include <exception>

#include "cli/command_tree.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/error.hpp"
#include "lib/util/log.hpp"
#include "lib/util/program_name.hpp"

namespace {

int report(pipeline::util::ErrorKind kind, const char* message) {
  std::fprintf(stderr, "pipeline: error: %s\n", pipeline::util::name_commands(message).c_str());
  return pipeline::util::exit_code(kind, pipeline::util::received_stop_signal());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pipeline;
  util::install_stop_signal_handlers();
  util::set_program_name(argc > 0 ? argv[0] : "pipeline");
  CLI::App app;
  cli::GlobalOptions options;
  cli::build_app(app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "pipeline: error: %s (see %s --help)\n", e.what(), util::program_name().c_str());
    return util::exit_code(util::ErrorKind::usage);
  } catch (const util::FatalError& e) {
    return report(e.kind(), e.what());
  } catch (const std::exception& e) {
    return report(util::ErrorKind::failed, e.what());
  }
  return 0;
}

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "cli/command_tree.hpp"
#include "lib/redis/redis_url.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/error.hpp"
#include "lib/util/log.hpp"
#include "lib/util/program_name.hpp"
#include "lib/util/text.hpp"

namespace {

int report(pipeline::util::ErrorKind kind, const char* message) {
  const auto line = pipeline::util::escape_control(pipeline::util::name_commands(message));
  std::fprintf(stderr, "pipeline: error: %s\n", line.c_str());
  return pipeline::util::exit_code(kind, pipeline::util::received_stop_signal());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pipeline;
  util::install_stop_signal_handlers();
  util::set_program_name(argc > 0 ? argv[0] : "pipeline");
  // The command runs within parse(), a worker's whole life long: it parses a
  // copy, and the arguments the kernel shows in /proc/<pid>/cmdline lose
  // their Redis passwords at once.
  std::vector<std::string> arguments(argv, argv + argc);
  std::vector<const char*> copied;
  for (const auto& argument : arguments) copied.push_back(argument.c_str());
  for (int i = 1; i < argc; ++i) {
    const std::string hidden = redis::hide_passwords(argv[i]);
    std::memcpy(argv[i], hidden.data(), hidden.size());
  }
  CLI::App app;
  cli::GlobalOptions options;
  cli::build_app(app, options);
  try {
    app.parse(argc, copied.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "pipeline: error: %s (see %s --help)\n", util::escape_control(e.what()).c_str(),
                 util::program_name().c_str());
    return util::exit_code(util::ErrorKind::usage);
  } catch (const util::FatalError& e) {
    return report(e.kind(), e.what());
  } catch (const std::exception& e) {
    return report(util::ErrorKind::failed, e.what());
  }
  return 0;
}

// Skeleton placeholder, replaced by the run command's real implementation.
#include "cli/app.hpp"
namespace pipeline::cli {
void register_run_commands(CLI::App&, GlobalOptions&) {}
}  // namespace pipeline::cli

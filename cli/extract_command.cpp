// Skeleton placeholder, replaced by the extract command's real implementation.
#include "cli/app.hpp"
namespace pipeline::cli {
void register_extract_command(CLI::App&, GlobalOptions&) {}
}  // namespace pipeline::cli

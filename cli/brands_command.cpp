// Skeleton placeholder, replaced by the brands command's real implementation.
#include "cli/app.hpp"
namespace pipeline::cli {
void register_brands_command(CLI::App&, GlobalOptions&) {}
}  // namespace pipeline::cli

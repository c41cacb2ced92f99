// Skeleton placeholder, replaced by the doctor command's real implementation.
#include "cli/app.hpp"
namespace pipeline::cli {
void register_doctor_command(CLI::App&, GlobalOptions&) {}
}  // namespace pipeline::cli

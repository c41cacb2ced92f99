// `pipeline doctor [--ping]`: checks the model provider settings and says what to fix.

#include <algorithm>
#include <map>
#include <memory>
#include <string>

#include "cli/app.hpp"
#include "lib/llm/client_config.hpp"
#include "lib/llm/doctor.hpp"
#include "lib/util/cancel.hpp"
#include "lib/util/error.hpp"

namespace pipeline::cli {
namespace {

std::string human_report(const llm::DoctorReport& report) {
  static const std::map<std::string, std::string> k_labels = {
      {"base_url", "base URL"}, {"model", "model"},       {"api_key", "API key"},
      {"models", "models"},     {"model_listed", "listed"}, {"ping", "ping"}};
  std::string text;
  for (const auto& check : report.checks) {
    const auto label = k_labels.count(check.name) ? k_labels.at(check.name) : check.name;
    text += std::string(check.ok ? "  ok     " : "  FAIL   ") + label + std::string(10 - std::min<std::size_t>(9, label.size()), ' ') +
            check.detail + "\n";
  }
  text += report.ok() ? "all checks passed" : "some checks failed";
  return text;
}

}  // namespace

void register_doctor_command(CLI::App& app, GlobalOptions& options) {
  auto* command = app.add_subcommand("doctor", "Check the model provider settings: URL, model, key, connection");
  auto ping = std::make_shared<bool>(false);
  command->add_flag("--ping", *ping, "Also send one short streamed completion and report its latency and tokens");
  command->callback([&options, ping] {
    const llm::ClientConfig config = client_config(options);
    const llm::DoctorReport report = llm::run_doctor(config, *ping, util::CancelToken{});
    if (options.json) print_json(report.to_json());
    print_human(options, human_report(report));
    if (const auto* failure = report.first_failure()) {
      throw util::FatalError(failure->failure_kind, "doctor: " + failure->name + ": " + failure->detail);
    }
  });
}

}  // namespace pipeline::cli

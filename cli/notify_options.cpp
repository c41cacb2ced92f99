#include "cli/notify_options.hpp"

#include <fmt/format.h>

#include "lib/util/error.hpp"
#include "service/run_webhooks.hpp"

namespace pipeline::cli {

void register_notify_option(CLI::App* command, NotifyOption& notify, bool replaces) {
  const std::string help =
      replaces ? "Post the run's stage_done, stage_failed and run_finished events to this http(s) URL from now on, "
                 "instead of the URL it keeps; '' stops them"
               : "Post the run's stage_done, stage_failed and run_finished events to this http(s) URL, signed with "
                 "PIPELINE_WEBHOOK_SECRET; kept in the run for resume";
  notify.option = command->add_option("--notify", notify.url, help);
}

void check_notify_option(const GlobalOptions& options, const NotifyOption& notify, bool delivers) {
  if (!notify.given() || notify.url.empty()) return;
  service::check_webhook_url(notify.url, options.allow_private_urls);
  if (delivers && service::webhook_secret().empty()) {
    throw util::FatalError(util::ErrorKind::bad_input,
                           fmt::format("--notify needs {} in the environment: every webhook is signed with it, and its "
                                       "receiver checks the signature",
                                       service::k_webhook_secret_variable));
  }
  if (delivers) service::check_webhook_secret_form();
}

}  // namespace pipeline::cli

#pragma once

// --notify: the URL that a run's stage_done, stage_failed and run_finished
// events are posted to, signed with PIPELINE_WEBHOOK_SECRET (README
// "Webhooks"). The URL is kept in the run's settings, so that every command
// that later works on the run (resume, the stage commands, a batch's resume)
// notifies it too; service/run_webhooks.hpp posts them.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/app.hpp"

namespace pipeline::cli {

// --notify as a command was given it.
struct NotifyOption {
  std::string url;
  CLI::Option* option = nullptr;
  bool given() const { return option != nullptr && option->count() > 0; }
  // The URL as the service layer takes it: nullopt when not given.
  std::optional<std::string> value() const { return given() ? std::optional<std::string>(url) : std::nullopt; }
};

// Adds --notify URL to a command that makes runs (run, new, batch, submit)
// or, with `replaces`, that goes on with stored ones (resume: a new URL
// replaces the stored one, '' stops the webhooks).
void register_notify_option(CLI::App* command, NotifyOption& notify, bool replaces = false);

// Checks a given --notify before any work: an http(s) URL without user name
// or password whose host is not private (unless --allow-private-urls).
// With `delivers` (the command posts events itself) PIPELINE_WEBHOOK_SECRET
// must be set too. Throws FatalError (bad input, exit 3).
void check_notify_option(const GlobalOptions& options, const NotifyOption& notify, bool delivers);

}  // namespace pipeline::cli

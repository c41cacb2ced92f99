#pragma once

// What `pipeline serve` tells of a run (docs/http-api.md): its status, its
// stages with their time, tokens, cost, model and warnings, its error, its
// job and its links, from its checkpoint (once it has one) and its job (when
// it was queued).

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "checkpoints/run_state.hpp"
#include "lib/queue/job.hpp"

namespace pipeline::service {

// {self, events, report_html, report_pdf, report_md, opportunities}.
nlohmann::json run_links(const std::string& run_id);

// The status a client sees: queued, running, retrying, completed, failed,
// incomplete, interrupted or cancelled. `live_status` is the checkpoint's as
// service::live_status reads it ("" without a checkpoint). A job that is not
// over speaks for the run; a cancelled or dead job too.
std::string api_status(const std::optional<queue::Job>& job, const std::string& live_status);

// Whether a run in that API status will change no more without a retry.
bool is_final_api_status(const std::string& status);

// The run's document; `summary` leaves out the stages, usage, error and job.
nlohmann::json run_document(const std::string& run_id, const checkpoints::RunState* state,
                            const std::optional<queue::Job>& job, const std::string& live_status, bool summary);

}  // namespace pipeline::service

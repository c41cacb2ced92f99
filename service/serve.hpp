#pragma once

// `pipeline serve`: the HTTP API over a store, with the workers that run
// its jobs (docs/http-api.md).

#include "service/run_settings.hpp"
#include "service/serve_options.hpp"

namespace pipeline::service {

// Serves until SIGTERM or SIGINT, then stops accepting, finishes the answers
// in flight, drains the workers (their stages in flight may finish within
// the drain timeout; what is left is saved and queued again) and returns 0.
// Throws FatalError before serving: a non-loopback address without tokens,
// a remote provider without a key, a store that cannot be used, an address
// that is taken.
int serve(const RunSettings& settings, const ServeOptions& options);

// Whether `host` is a loopback address (127.0.0.0/8, ::1 or localhost).
bool is_loopback_host(const std::string& host);

}  // namespace pipeline::service

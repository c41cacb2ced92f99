#pragma once

#include <httplib.h>

#include "service/http_exchange.hpp"

namespace pipeline::service {

// The /v1/runs routes (docs/http-api.md): making runs from an upload or a
// URL, reading them and their events, downloads, cancel and retry.
void install_run_routes(httplib::Server& server, ServeContext& context);

}  // namespace pipeline::service

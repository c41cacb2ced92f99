#pragma once

// `pipeline serve` as CLI tests run it, and curl as its clients call it.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/cli_env.hpp"
#include "tests/support/process.hpp"

namespace pipeline::testing {

// A running `pipeline serve --listen 127.0.0.1:0` and the URL it printed.
struct ServeProcess {
  std::unique_ptr<Process> process;
  std::string url;
};

// Starts `pipeline serve --listen 127.0.0.1:0 --brands-dir <env's folder>`
// with `extra` arguments and waits for its "listening on" line; fails the
// test when it exits first or prints none within 20 s.
ServeProcess start_serve(const CliEnv& env, const std::vector<std::string>& extra = {});

// One answer as curl got it: the status, the headers (names lowercase) and the body.
struct HttpAnswer {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  nlohmann::json json() const;
};

// Calls curl with `args` (method, URL, data and header options) and reads its answer.
HttpAnswer curl_http(const std::vector<std::string>& args);

// The ids and names of the events in a text/event-stream body, in order.
std::vector<std::pair<long, std::string>> sse_ids_and_names(const std::string& stream);

}  // namespace pipeline::testing

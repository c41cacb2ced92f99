#pragma once

#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/app.hpp"

namespace pipeline::cli {

// Shows a run's events: NDJSON on stdout with --json; on a terminal a live
// line per stage (stage, elapsed time, tokens streamed); otherwise one line
// per event on stderr.
class ProgressPrinter {
 public:
  // With `name_runs` (a batch, whose runs interleave), each line starts with
  // its run's id and no live line is drawn.
  explicit ProgressPrinter(const GlobalOptions& options, bool name_runs = false);
  void operator()(const nlohmann::json& event);

 private:
  void print_line(const std::string& text);

  bool m_json;
  bool m_live;
  bool m_name_runs;
  bool m_line_open = false;
  std::mutex m_mutex;
};

// "1234 tokens, $0.0123" from a usage object, cost left out when unknown.
std::string describe_usage(const nlohmann::json& usage);

}  // namespace pipeline::cli

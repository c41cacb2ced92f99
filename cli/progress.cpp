#include "cli/progress.hpp"
#include "lib/util/json_text.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>

#include <fmt/format.h>

namespace pipeline::cli {

std::string describe_usage(const nlohmann::json& usage) {
  const llm::Usage counts = llm::Usage::from_json(usage);
  const auto tokens = counts.prompt_tokens + counts.completion_tokens;
  const auto estimated = counts.estimated_prompt_tokens + counts.estimated_completion_tokens;
  std::string text;
  if (counts.unreported_calls == 0) {
    text = fmt::format("{} tokens", tokens);
  } else if (tokens == 0) {
    text = fmt::format("tokens not reported (≈{} est.)", estimated);
  } else {
    text = fmt::format("{} tokens + ≈{} est. not reported", tokens, estimated);
  }
  // Tokens read from or written to the provider's prompt cache are part of the prompt tokens: said, not added.
  if (counts.cached_tokens > 0 || counts.cache_write_tokens > 0) {
    text += fmt::format(" ({} prompt cached", counts.cached_tokens);
    if (counts.cache_write_tokens > 0) text += fmt::format(", {} written to the cache", counts.cache_write_tokens);
    text += ")";
  }
  // Reasoning tokens are part of the completion tokens, billed as such: said, not added.
  if (counts.reasoning_tokens > 0) text += fmt::format(" ({} reasoning)", counts.reasoning_tokens);
  if (usage.contains("cost_usd") && usage.at("cost_usd").is_number()) {
    text += fmt::format(", ${:.4f}", usage.at("cost_usd").get<double>());
  }
  return text;
}

ProgressPrinter::ProgressPrinter(const GlobalOptions& options, bool name_runs)
    : m_json(options.json), m_live(!options.json && !name_runs && ::isatty(STDERR_FILENO)), m_name_runs(name_runs) {}

void ProgressPrinter::print_line(const std::string& text) {
  if (m_line_open) std::fputs("\r\033[K", stderr);
  std::fputs(text.c_str(), stderr);
  std::fputc('\n', stderr);
  m_line_open = false;
}

void ProgressPrinter::operator()(const nlohmann::json& event) {
  std::lock_guard lock(m_mutex);
  const std::string type = event.value("event", "");
  if (m_json) {
    if (type == "stage_progress") return;
    std::cout << util::dump_json(event) << std::endl;
    return;
  }
  std::string stage = event.contains("stage") ? fmt::format("[{}/5] {}", event.value("stage", 0), event.value("name", "")) : "";
  if (m_name_runs) stage = event.value("run_id", "") + " " + stage;
  if (type == "stage_progress") {
    if (!m_live) return;
    std::fprintf(stderr, "\r\033[K%s  %.1f s  %lld tokens", stage.c_str(), event.value("elapsed_s", 0.0),
                 static_cast<long long>(event.value("tokens", 0LL)));
    m_line_open = true;
  } else if (type == "stage_started") {
    if (m_live) {
      std::fprintf(stderr, "\r\033[K%s  starting", stage.c_str());
      m_line_open = true;
    } else {
      print_line(stage + " started");
    }
  } else if (type == "stage_retry") {
    const auto& attempt = event.at("attempt");
    static const std::map<std::string, std::string> k_next = {
        {"retry", "; retrying"}, {"reask", "; asking again"}, {"next_rung", ""}, {"kept", "; kept with warnings"}};
    const auto next = k_next.find(attempt.value("then", ""));
    print_line(fmt::format("{} attempt {} failed ({}): {}{}", stage, attempt.value("number", 0),
                           attempt.value("error_class", ""), attempt.value("message", ""),
                           next == k_next.end() ? "" : next->second));
  } else if (type == "stage_waiting") {
    print_line(fmt::format("{} waiting: {}", stage, event.value("reason", "")));
  } else if (type == "stage_part_done") {
    if (event.value("part", "") != "answer") {
      print_line(fmt::format("{} {} done in {:.1f} s ({})", stage, event.value("part", ""), event.value("duration_s", 0.0),
                             describe_usage(event.value("usage", nlohmann::json::object()))));
    }
  } else if (type == "stage_done" && event.value("cached", false)) {
    print_line(fmt::format("{} reused from the stage cache (no model call)", stage));
  } else if (type == "stage_done") {
    print_line(fmt::format("{} done in {:.1f} s ({})", stage, event.value("duration_s", 0.0),
                           describe_usage(event.value("usage", nlohmann::json::object()))));
  } else if (type == "stage_failed") {
    print_line(fmt::format("{} stopped after {:.1f} s: {}", stage, event.value("duration_s", 0.0), event.value("error", "")));
  } else if (type == "run_finished") {
    print_line(fmt::format("run {} {} ({})", event.value("run_id", ""), event.value("status", ""),
                           describe_usage(event.value("usage", nlohmann::json::object()))));
  }
  std::fflush(stderr);
}

}  // namespace pipeline::cli

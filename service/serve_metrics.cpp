#include "service/serve_metrics.hpp"

#include <fmt/format.h>

#include "lib/llm/chat.hpp"

namespace pipeline::service {
namespace {

void metric_header(std::string& text, std::string_view name, std::string_view type, std::string_view help) {
  text += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

void ServeMetrics::count_response(int status) {
  std::lock_guard lock(m_mutex);
  ++m_responses[status];
}

void ServeMetrics::record_stage(const nlohmann::json& stage_done) {
  const std::string name = stage_done.value("name", "");
  if (name.empty()) return;
  const auto usage = stage_done.contains("usage") ? llm::Usage::from_json(stage_done.at("usage")) : llm::Usage{};
  std::lock_guard lock(m_mutex);
  auto& figures = m_stages[name];
  ++figures.count;
  const auto duration = stage_done.find("duration_s");
  if (duration != stage_done.end() && duration->is_number()) figures.seconds += duration->get<double>();
  figures.prompt_tokens += usage.prompt_tokens + usage.estimated_prompt_tokens;
  figures.completion_tokens += usage.completion_tokens + usage.estimated_completion_tokens;
  figures.cost_usd += usage.cost_usd.value_or(0);
}

std::string ServeMetrics::render(const queue::QueueCounts& counts,
                                 const std::map<std::string, long long>& runs_by_status) const {
  std::string text;
  metric_header(text, "pipeline_queue_depth", "gauge", "Jobs waiting for a worker, by priority.");
  for (const auto& [priority, queued] : counts.queued) {
    text += fmt::format("pipeline_queue_depth{{priority=\"{}\"}} {}\n", queue::to_string(priority), queued);
  }
  metric_header(text, "pipeline_jobs_running", "gauge", "Jobs a worker is running.");
  text += fmt::format("pipeline_jobs_running {}\n", counts.in_flight);
  metric_header(text, "pipeline_jobs_delayed", "gauge", "Jobs waiting to be tried again.");
  text += fmt::format("pipeline_jobs_delayed {}\n", counts.delayed);
  metric_header(text, "pipeline_jobs_dead", "gauge", "Jobs whose workers died too often to run them again.");
  text += fmt::format("pipeline_jobs_dead {}\n", counts.dead);
  metric_header(text, "pipeline_workers", "gauge", "Workers alive.");
  text += fmt::format("pipeline_workers {}\n", counts.live_workers);
  metric_header(text, "pipeline_runs", "gauge", "Runs in the store, by status.");
  for (const auto& [status, count] : runs_by_status) text += fmt::format("pipeline_runs{{status=\"{}\"}} {}\n", status, count);

  std::lock_guard lock(m_mutex);
  metric_header(text, "pipeline_stage_duration_seconds", "summary", "Time of the stages this process ran, by stage.");
  for (const auto& [stage, figures] : m_stages) {
    text += fmt::format("pipeline_stage_duration_seconds_sum{{stage=\"{}\"}} {:.3f}\n", stage, figures.seconds);
    text += fmt::format("pipeline_stage_duration_seconds_count{{stage=\"{}\"}} {}\n", stage, figures.count);
  }
  metric_header(text, "pipeline_tokens_total", "counter", "Tokens of the stages this process ran, by stage and kind.");
  for (const auto& [stage, figures] : m_stages) {
    text += fmt::format("pipeline_tokens_total{{stage=\"{}\",kind=\"prompt\"}} {}\n", stage, figures.prompt_tokens);
    text += fmt::format("pipeline_tokens_total{{stage=\"{}\",kind=\"completion\"}} {}\n", stage, figures.completion_tokens);
  }
  metric_header(text, "pipeline_cost_usd_total", "counter", "Money the stages this process ran cost, by stage.");
  for (const auto& [stage, figures] : m_stages) {
    text += fmt::format("pipeline_cost_usd_total{{stage=\"{}\"}} {:.6f}\n", stage, figures.cost_usd);
  }
  metric_header(text, "pipeline_http_responses_total", "counter", "HTTP answers given, by status code.");
  for (const auto& [status, count] : m_responses) {
    text += fmt::format("pipeline_http_responses_total{{code=\"{}\"}} {}\n", status, count);
  }
  metric_header(text, "pipeline_event_streams_open", "gauge", "Event streams open now.");
  text += fmt::format("pipeline_event_streams_open {}\n", m_open_streams.load());
  return text;
}

}  // namespace pipeline::service

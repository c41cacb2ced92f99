#include "service/run_view.hpp"

#include <filesystem>

#include "lib/llm/chat.hpp"
#include "stages/run_files.hpp"

namespace pipeline::service {
namespace {

nlohmann::json optional_text(const std::string& text) { return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text); }

// A local document is named by its file name alone: the server's folders are none of the client's business.
std::string document_name(const std::string& source) {
  if (source.rfind("http://", 0) == 0 || source.rfind("https://", 0) == 0) return source;
  return std::filesystem::path(source).filename().string();
}

nlohmann::json stage_document(const checkpoints::StageRecord& record) {
  const auto usage = llm::Usage::from_json(record.usage);
  std::string model;
  for (const auto& part : record.parts) {
    if (!part.model.empty()) {
      model = part.model;
      break;
    }
  }
  std::string_view status = checkpoints::to_string(record.status);
  // A stage whose inputs changed is to be run again, as one never run.
  if (record.status == checkpoints::StageStatus::stale) status = "pending";
  return {{"number", record.number},
          {"name", record.name},
          {"status", status},
          {"started_at", optional_text(record.started_at)},
          {"finished_at", optional_text(record.finished_at)},
          {"duration_s", record.duration_s ? nlohmann::json(*record.duration_s) : nlohmann::json(nullptr)},
          {"prompt_tokens", usage.prompt_tokens + usage.estimated_prompt_tokens},
          {"completion_tokens", usage.completion_tokens + usage.estimated_completion_tokens},
          {"cost_usd", usage.cost_usd ? nlohmann::json(*usage.cost_usd) : nlohmann::json(nullptr)},
          {"model", optional_text(model)},
          {"warnings", record.warnings}};
}

}  // namespace

nlohmann::json run_links(const std::string& run_id) {
  const std::string base = "/v1/runs/" + run_id;
  return {{"self", base},
          {"events", base + "/events"},
          {"report_html", base + "/report.html"},
          {"report_pdf", base + "/report.pdf"},
          {"report_md", base + "/report.md"},
          {"opportunities", base + "/opportunities.json"}};
}

std::string api_status(const std::optional<queue::Job>& job, const std::string& live_status) {
  if (job) {
    switch (job->state) {
      case queue::JobState::cancelled:
        return "cancelled";
      case queue::JobState::dead:
        return "failed";
      case queue::JobState::running:
        return "running";
      case queue::JobState::queued:
        return job->error.empty() ? "queued" : "retrying";
      case queue::JobState::failed:
        if (live_status.empty()) return "failed";
        break;
      case queue::JobState::done:
        break;
    }
  }
  if (live_status.empty()) return "queued";
  if (job && job->state == queue::JobState::failed && live_status != "completed") return "failed";
  // A run made but never started is waiting for `resume`, as an incomplete one.
  if (live_status == "created") return "incomplete";
  return live_status;
}

bool is_final_api_status(const std::string& status) {
  return status == "completed" || status == "failed" || status == "cancelled";
}

nlohmann::json run_document(const std::string& run_id, const checkpoints::RunState* state,
                            const std::optional<queue::Job>& job, const std::string& live_status, bool summary) {
  const std::string status = api_status(job, live_status);
  nlohmann::json document{{"run_id", run_id}, {"status", status}};
  if (state) {
    document["brand"] = {{"id", state->brand.id}, {"name", state->brand.company_name}};
    document["document"] = {{"source", document_name(state->input.source)},
                            {"pages", state->input.pages},
                            {"title", state->input.title}};
    document["created_at"] = state->created_at;
    document["updated_at"] = state->updated_at;
  } else {
    document["brand"] = job && !job->brand.empty() ? nlohmann::json{{"id", job->brand}, {"name", nullptr}}
                                                   : nlohmann::json(nullptr);
    document["document"] = job && !job->source.empty()
                               ? nlohmann::json{{"source", document_name(job->source)}, {"pages", nullptr}, {"title", nullptr}}
                               : nlohmann::json(nullptr);
    document["created_at"] = job ? optional_text(job->created_at) : nlohmann::json(nullptr);
    document["updated_at"] = job ? optional_text(job->updated_at) : nlohmann::json(nullptr);
  }
  if (!summary) {
    nlohmann::json stage_list = nlohmann::json::array();
    if (state) {
      for (const auto& record : state->stages) stage_list.push_back(stage_document(record));
    }
    document["stages"] = std::move(stage_list);
    const auto usage = state ? llm::Usage::from_json(stages::run_usage(*state)) : llm::Usage{};
    document["usage"] = {{"prompt_tokens", usage.prompt_tokens + usage.estimated_prompt_tokens},
                         {"completion_tokens", usage.completion_tokens + usage.estimated_completion_tokens},
                         {"cost_usd", usage.cost_usd ? nlohmann::json(*usage.cost_usd) : nlohmann::json(nullptr)}};
    nlohmann::json error = nullptr;
    if (state && state->error && status != "completed") {
      error = {{"kind", state->error->kind}, {"message", state->error->message}};
    } else if (job && !job->error.empty() && status != "completed") {
      error = {{"kind", "failed"}, {"message", job->error}};
    }
    document["error"] = std::move(error);
    document["job"] = job ? nlohmann::json{{"state", queue::to_string(job->state)},
                                           {"attempts", job->attempts},
                                           {"priority", queue::to_string(job->priority)}}
                          : nlohmann::json(nullptr);
  }
  document["links"] = run_links(run_id);
  return document;
}

}  // namespace pipeline::service

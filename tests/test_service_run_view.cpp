#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoints/run_state.hpp"
#include "lib/queue/job.hpp"
#include "service/run_view.hpp"
#include "tests/support/run_states.hpp"

using pipeline::queue::Job;
using pipeline::queue::JobState;
using pipeline::service::api_status;
using pipeline::service::run_document;

namespace {

std::optional<Job> view_job(JobState state, const std::string& error = "") {
  Job job;
  job.job_id = "run-1";
  job.run_id = "run-1";
  job.state = state;
  job.error = error;
  job.attempts = 2;
  job.priority = pipeline::queue::Priority::high;
  job.created_at = "2026-01-02T00:00:00.000Z";
  job.updated_at = "2026-01-02T00:01:00.000Z";
  return job;
}

// The links every run document carries, spelled out as the API contract does.
nlohmann::json view_expected_links(const std::string& id) {
  return {{"self", "/v1/runs/" + id},
          {"events", "/v1/runs/" + id + "/events"},
          {"report_html", "/v1/runs/" + id + "/report.html"},
          {"report_pdf", "/v1/runs/" + id + "/report.pdf"},
          {"report_md", "/v1/runs/" + id + "/report.md"},
          {"opportunities", "/v1/runs/" + id + "/opportunities.json"}};
}

// A run with stage 1 done, stage 2 failed, stage 3 stale, 4 and 5 pending.
pipeline::checkpoints::RunState view_run_state() {
  using pipeline::checkpoints::StageStatus;
  auto state = pipeline::testing::sample_run_state("run-1");
  state.status = pipeline::checkpoints::RunStatus::failed;
  state.input.source = "/srv/pipeline/uploads/tmp-81/annual report.pdf";
  state.input.pages = 12;
  state.input.title = "Annual report";
  state.brand.company_name = "Acme Foods";
  auto& first = state.stage(1);
  first.status = StageStatus::done;
  first.started_at = "2026-01-01T12:00:01.000Z";
  first.finished_at = "2026-01-01T12:00:04.500Z";
  first.duration_s = 3.5;
  first.usage = {{"prompt_tokens", 100}, {"completion_tokens", 50}, {"cost_usd", 0.01}};
  pipeline::checkpoints::PartRecord unnamed;
  unnamed.name = "plan";
  pipeline::checkpoints::PartRecord named;
  named.name = "answer";
  named.model = "vendor/model-a";
  first.parts = {unnamed, named};
  first.warnings = {"answer: $.title: too long"};
  auto& second = state.stage(2);
  second.status = StageStatus::failed;
  second.started_at = "2026-01-01T12:00:05.000Z";
  // One answer came without usage: its tokens were estimated.
  second.usage = {{"prompt_tokens", 200},
                  {"completion_tokens", 70},
                  {"unreported_calls", 1},
                  {"estimated_prompt_tokens", 0},
                  {"estimated_completion_tokens", 5},
                  {"cost_usd", 0.02}};
  state.stage(3).status = StageStatus::stale;
  state.error = pipeline::checkpoints::ErrorRecord{"provider", "the provider refused the request"};
  return state;
}

}  // namespace

TEST_CASE("the API status of a run for every job state and checkpoint status") {
  struct Row {
    std::optional<Job> job;
    std::string live;
    std::string expected;
  };
  const std::optional<Job> no_job;
  const std::vector<std::string> checkpoints{"created", "running", "interrupted", "incomplete", "failed", "completed"};
  std::vector<Row> rows;
  // Without a job the checkpoint tells, a run made but never started waiting as an incomplete one.
  for (const auto& live : checkpoints) rows.push_back({no_job, live, live == "created" ? "incomplete" : live});
  // A job that is not over, or was cancelled or died, speaks for the run.
  for (const std::string live : {"", "created", "running", "interrupted", "incomplete", "failed", "completed"}) {
    rows.push_back({view_job(JobState::queued), live, "queued"});
    rows.push_back({view_job(JobState::queued, "the provider is busy"), live, "retrying"});
    rows.push_back({view_job(JobState::running), live, "running"});
    rows.push_back({view_job(JobState::cancelled), live, "cancelled"});
    rows.push_back({view_job(JobState::dead), live, "failed"});
  }
  // A done job leaves it to the checkpoint.
  for (const auto& live : checkpoints) {
    rows.push_back({view_job(JobState::done), live, live == "created" ? "incomplete" : live});
  }
  // A failed job fails the run unless its checkpoint says it completed.
  for (const std::string live : {"", "created", "interrupted", "incomplete", "failed"}) {
    rows.push_back({view_job(JobState::failed, "stage 2 failed"), live, "failed"});
  }
  rows.push_back({view_job(JobState::failed, "webhook"), "completed", "completed"});

  const std::vector<std::string> api_statuses{"queued",    "running",     "retrying", "completed",
                                              "failed",    "incomplete",  "interrupted", "cancelled"};
  for (const auto& row : rows) {
    const std::string job_state = row.job ? std::string(pipeline::queue::to_string(row.job->state)) : "none";
    const std::string job_error = row.job ? row.job->error : "";
    CAPTURE(job_state);
    CAPTURE(job_error);
    CAPTURE(row.live);
    const std::string status = api_status(row.job, row.live);
    CHECK(status == row.expected);
    CHECK(std::find(api_statuses.begin(), api_statuses.end(), status) != api_statuses.end());
  }
}

TEST_CASE("only completed, failed and cancelled are final") {
  for (const std::string status : {"completed", "failed", "cancelled"}) {
    CHECK(pipeline::service::is_final_api_status(status));
  }
  for (const std::string status : {"queued", "running", "retrying", "incomplete", "interrupted", ""}) {
    CHECK_FALSE(pipeline::service::is_final_api_status(status));
  }
}

TEST_CASE("run links name the run's resources") {
  CHECK(pipeline::service::run_links("run-7") == view_expected_links("run-7"));
}

TEST_CASE("a run with a checkpoint: brand, document by file name, stages, usage, error and job") {
  const auto state = view_run_state();
  const auto job = view_job(JobState::failed, "stage 2 failed");
  const auto document = run_document("run-1", &state, job, "failed", false);

  CHECK(document.at("run_id") == "run-1");
  CHECK(document.at("status") == "failed");
  CHECK(document.at("brand") == nlohmann::json{{"id", "acme"}, {"name", "Acme Foods"}});
  CHECK(document.at("document").at("source") == "annual report.pdf");
  CHECK(document.at("document").at("pages") == 12);
  CHECK(document.at("created_at") == state.created_at);
  CHECK(document.at("updated_at") == state.updated_at);
  CHECK(document.at("links") == view_expected_links("run-1"));

  const auto& stages = document.at("stages");
  REQUIRE(stages.size() == 5);
  const std::vector<std::string> names{"mechanisms", "signals", "lessons", "contextualize", "opportunities"};
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(stages[i].at("number") == static_cast<int>(i) + 1);
    CHECK(stages[i].at("name") == names[i]);
    for (const char* key : {"status", "started_at", "finished_at", "duration_s", "prompt_tokens", "completion_tokens",
                            "cost_usd", "model", "warnings"}) {
      CHECK_MESSAGE(stages[i].contains(key), key);
    }
  }
  const auto& first = stages[0];
  CHECK(first.at("status") == "done");
  CHECK(first.at("started_at") == "2026-01-01T12:00:01.000Z");
  CHECK(first.at("finished_at") == "2026-01-01T12:00:04.500Z");
  CHECK(first.at("duration_s") == 3.5);
  CHECK(first.at("prompt_tokens") == 100);
  CHECK(first.at("completion_tokens") == 50);
  CHECK(first.at("cost_usd") == 0.01);
  CHECK(first.at("model") == "vendor/model-a");
  CHECK(first.at("warnings") == nlohmann::json::array({"answer: $.title: too long"}));
  const auto& second = stages[1];
  CHECK(second.at("status") == "failed");
  CHECK(second.at("finished_at").is_null());
  CHECK(second.at("duration_s").is_null());
  CHECK(second.at("model").is_null());
  CHECK(second.at("completion_tokens") == 75);  // estimated tokens count too
  // A stale stage is to be run again: pending, as one never run.
  CHECK(stages[2].at("status") == "pending");
  CHECK(stages[3].at("status") == "pending");
  CHECK(stages[4].at("cost_usd").is_null());
  CHECK(stages[4].at("warnings") == nlohmann::json::array());

  CHECK(document.at("usage").at("prompt_tokens") == 300);
  CHECK(document.at("usage").at("completion_tokens") == 125);
  CHECK(document.at("usage").at("cost_usd").get<double>() == doctest::Approx(0.03));
  // The checkpoint's error wins over the job's.
  CHECK(document.at("error") == nlohmann::json{{"kind", "provider"}, {"message", "the provider refused the request"}});
  CHECK(document.at("job") == nlohmann::json{{"state", "failed"}, {"attempts", 2}, {"priority", "high"}});
}

TEST_CASE("a completed run has no error, and a run without a job has a null job") {
  auto state = view_run_state();
  state.status = pipeline::checkpoints::RunStatus::completed;
  const auto document = run_document("run-1", &state, std::nullopt, "completed", false);
  CHECK(document.at("status") == "completed");
  CHECK(document.at("error").is_null());
  CHECK(document.at("job").is_null());

  // A stage whose cost is unknown makes the run's cost unknown.
  state.stage(4).usage = {{"prompt_tokens", 1}, {"completion_tokens", 1}};
  CHECK(run_document("run-1", &state, std::nullopt, "completed", false).at("usage").at("cost_usd").is_null());
}

TEST_CASE("a summary leaves out the stages, usage, error and job") {
  const auto state = view_run_state();
  const auto full = run_document("run-1", &state, view_job(JobState::failed, "x"), "failed", false);
  const auto summary = run_document("run-1", &state, view_job(JobState::failed, "x"), "failed", true);
  for (const char* key : {"stages", "usage", "error", "job"}) {
    CHECK_MESSAGE(full.contains(key), key);
    CHECK_FALSE_MESSAGE(summary.contains(key), key);
  }
  for (const char* key : {"run_id", "status", "brand", "document", "created_at", "updated_at", "links"}) {
    CHECK_MESSAGE(summary.contains(key), key);
    CHECK(summary.at(key) == full.at(key));
  }
}

TEST_CASE("a run with only a job tells what the job knows") {
  auto job = view_job(JobState::queued);
  job->kind = pipeline::queue::JobKind::source;
  job->brand = "acme";
  job->source = "/var/lib/pipeline/uploads/7f3a/quarterly.pdf";
  const auto document = run_document("run-1", nullptr, job, "", false);
  CHECK(document.at("status") == "queued");
  CHECK(document.at("brand") == nlohmann::json{{"id", "acme"}, {"name", nullptr}});
  CHECK(document.at("document").at("source") == "quarterly.pdf");
  CHECK(document.at("document").at("pages").is_null());
  CHECK(document.at("created_at") == "2026-01-02T00:00:00.000Z");
  CHECK(document.at("updated_at") == "2026-01-02T00:01:00.000Z");
  CHECK(document.at("stages") == nlohmann::json::array());
  CHECK(document.at("usage").at("prompt_tokens") == 0);
  CHECK(document.at("usage").at("completion_tokens") == 0);
  CHECK(document.at("error").is_null());
  CHECK(document.at("job").at("state") == "queued");
  CHECK(document.at("links") == view_expected_links("run-1"));

  // The job's error is the run's while it has no checkpoint.
  auto failed = view_job(JobState::failed, "cannot fetch the document: HTTP 404");
  const auto failed_document = run_document("run-1", nullptr, failed, "", false);
  CHECK(failed_document.at("status") == "failed");
  CHECK(failed_document.at("error") ==
        nlohmann::json{{"kind", "failed"}, {"message", "cannot fetch the document: HTTP 404"}});

  // Neither a job nor a checkpoint: nothing is known but the id.
  const auto bare = run_document("run-1", nullptr, std::nullopt, "", false);
  CHECK(bare.at("brand").is_null());
  CHECK(bare.at("document").is_null());
  CHECK(bare.at("created_at").is_null());
  CHECK(bare.at("job").is_null());
}

TEST_CASE("document URLs are kept whole; local paths are reduced to their file names") {
  struct Source {
    std::string given;
    std::string shown;
  };
  for (const auto& item : std::vector<Source>{
           {"https://example.com/docs/report.pdf?version=2", "https://example.com/docs/report.pdf?version=2"},
           {"http://example.com/a/b.pdf", "http://example.com/a/b.pdf"},
           {"/home/someone/secret-project/report.pdf", "report.pdf"},
           {"relative/dir/report.pdf", "report.pdf"},
           {"report.pdf", "report.pdf"},
       }) {
    CAPTURE(item.given);
    auto state = view_run_state();
    state.input.source = item.given;
    CHECK(run_document("run-1", &state, std::nullopt, "failed", true).at("document").at("source") == item.shown);
    auto job = view_job(JobState::queued);
    job->kind = pipeline::queue::JobKind::source;
    job->brand = "acme";
    job->source = item.given;
    CHECK(run_document("run-1", nullptr, job, "", true).at("document").at("source") == item.shown);
  }
}

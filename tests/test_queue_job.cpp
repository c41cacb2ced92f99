#include <doctest/doctest.h>

#include <map>
#include <string>

#include "lib/queue/job.hpp"

using namespace pipeline::queue;

TEST_CASE("a job's fields survive the hash both ways") {
  Job job;
  job.job_id = "r1";
  job.kind = JobKind::source;
  job.run_id = "r1";
  job.source = "https://example.com/a.pdf";
  job.brand = "acme";
  job.priority = Priority::high;
  job.notify = "https://hooks.example.com/x";
  job.state = JobState::running;
  job.attempts = 2;
  job.deaths = 1;
  job.error = "boom";
  job.worker = "host-1-abc";
  job.created_at = "2026-01-01T00:00:00.000Z";
  std::map<std::string, std::string> fields;
  for (const auto& [name, value] : job.to_fields()) fields[name] = value;
  const auto back = Job::from_fields(fields);
  REQUIRE(back.has_value());
  CHECK(back->job_id == "r1");
  CHECK(back->kind == JobKind::source);
  CHECK(back->source == job.source);
  CHECK(back->brand == "acme");
  CHECK(back->priority == Priority::high);
  CHECK(back->notify == job.notify);
  CHECK(back->state == JobState::running);
  CHECK(back->attempts == 2);
  CHECK(back->deaths == 1);
  CHECK(back->error == "boom");
  CHECK(back->worker == "host-1-abc");
  CHECK(back->created_at == job.created_at);
  // Empty fields are left out of the hash.
  CHECK(fields.count("finished_at") == 0);
}

TEST_CASE("the fields of a one-command XADD make a source job whose id is its run's") {
  const auto job = Job::from_fields(
      fields_from_flat({"kind", "source", "source", "https://example.com/a.pdf", "brand", "acme", "run_id", "web-1"}));
  REQUIRE(job.has_value());
  CHECK(job->job_id == "web-1");
  CHECK(job->kind == JobKind::source);
  CHECK(job->priority == Priority::normal);
  CHECK(job->state == JobState::queued);
}

TEST_CASE("a job without what it needs is bad input saying what is missing") {
  auto no_run = Job::from_fields({{"kind", "run"}});
  REQUIRE_FALSE(no_run.has_value());
  CHECK(no_run.error().message.find("run_id") != std::string::npos);
  auto no_brand = Job::from_fields({{"kind", "source"}, {"run_id", "x"}, {"source", "a.pdf"}});
  REQUIRE_FALSE(no_brand.has_value());
  CHECK(no_brand.error().message.find("brand") != std::string::npos);
  auto bad_kind = Job::from_fields({{"kind", "pdf"}, {"run_id", "x"}});
  REQUIRE_FALSE(bad_kind.has_value());
  CHECK(bad_kind.error().message.find("pdf") != std::string::npos);
  CHECK_FALSE(Job::from_fields({{"run_id", "a:b"}}).has_value());
  CHECK_FALSE(Job::from_fields({{"run_id", "x"}, {"priority", "urgent"}}).has_value());
}

TEST_CASE("names of priorities and states parse back; only final states are final") {
  for (const auto priority : all_priorities()) CHECK(parse_priority(to_string(priority)) == priority);
  CHECK(all_priorities().front() == Priority::high);
  CHECK_FALSE(parse_priority("urgent").has_value());
  for (const auto state : {JobState::queued, JobState::running, JobState::done, JobState::failed, JobState::dead,
                           JobState::cancelled}) {
    CHECK(parse_job_state(to_string(state)) == state);
  }
  CHECK_FALSE(is_final(JobState::queued));
  CHECK_FALSE(is_final(JobState::running));
  CHECK(is_final(JobState::dead));
  CHECK(is_final(JobState::cancelled));
}

TEST_CASE("a retry's redo_from survives the hash; none is left out; past stage 5 is refused") {
  Job job;
  job.job_id = "r2";
  job.run_id = "r2";
  for (const int redo_from : {1, 3, 5}) {
    CAPTURE(redo_from);
    job.redo_from = redo_from;
    std::map<std::string, std::string> fields;
    for (const auto& [name, value] : job.to_fields()) fields[name] = value;
    CHECK(fields.at("redo_from") == std::to_string(redo_from));
    const auto back = Job::from_fields(fields);
    REQUIRE(back.has_value());
    CHECK(back->redo_from == redo_from);
  }
  job.redo_from = 0;
  std::map<std::string, std::string> fields;
  for (const auto& [name, value] : job.to_fields()) fields[name] = value;
  CHECK(fields.count("redo_from") == 0);
  CHECK(Job::from_fields(fields)->redo_from == 0);

  for (const std::string past : {"6", "42"}) {
    auto refused = Job::from_fields({{"run_id", "r2"}, {"redo_from", past}});
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().message.find("redo_from") != std::string::npos);
  }
}

TEST_CASE("a job's ttl_s survives the hash; none and a negative one mean no TTL of its own") {
  Job job;
  job.job_id = "r3";
  job.run_id = "r3";
  job.ttl_s = 2'592'000;
  std::map<std::string, std::string> fields;
  for (const auto& [name, value] : job.to_fields()) fields[name] = value;
  CHECK(fields.at("ttl_s") == "2592000");
  CHECK(Job::from_fields(fields)->ttl_s == 2'592'000);

  job.ttl_s = 0;
  fields.clear();
  for (const auto& [name, value] : job.to_fields()) fields[name] = value;
  CHECK(fields.count("ttl_s") == 0);
  CHECK(Job::from_fields({{"run_id", "r3"}, {"ttl_s", "-5"}})->ttl_s == 0);
}

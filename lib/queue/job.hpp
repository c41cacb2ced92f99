#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/util/expected.hpp"

namespace pipeline::queue {

// How urgent a job is: workers take every high job before any normal one,
// and every normal one before any low one.
enum class Priority { high, normal, low };

// Where a job is in its life. queued: in a stream, waiting; running: a
// worker has it; done: its run is completed; failed: stopped by an error a
// person must look at (or transient errors past the retries); dead: its
// worker died three times without finishing a stage, so it is not run again
// (the dead-letter list); cancelled: `pipeline jobs cancel`.
enum class JobState { queued, running, done, failed, dead, cancelled };

// What a job asks for. run: carry on an existing run. source: ingest the PDF
// at `source` (a URL or a path the worker can read) for `brand` as run
// `run_id`, then carry it on; this kind can be enqueued with one Redis
// command by any program (see docs/queue.md).
enum class JobKind { run, source };

// A job as its Redis hash holds it. A job's id is its run's id: one run has
// at most one job.
struct Job {
  std::string job_id;
  JobKind kind = JobKind::run;
  std::string run_id;
  std::string source;  // kind source
  std::string brand;   // kind source
  Priority priority = Priority::normal;
  std::string notify;  // webhook URL for the run (--notify); empty: none
  JobState state = JobState::queued;
  int attempts = 0;  // times a worker started it
  int deaths = 0;    // workers that died holding it since its last finished stage
  // A retry asked to redo the stages from this one (1-5) on, done or not;
  // 0: carry on from the first stage not done. Cleared once that stage is done.
  int redo_from = 0;
  // Seconds the run lives on in Redis once its job is over (submit --ttl);
  // 0: as long as the worker's --ttl says, else for ever.
  int ttl_s = 0;
  std::string error;
  std::string worker;  // the worker that has or last had it
  std::string entry;   // the stream entry that stands for the job now (docs/queue.md)
  std::string created_at;
  std::string updated_at;
  std::string started_at;
  std::string finished_at;

  // Field/value pairs for HSET (empty values left out).
  std::vector<std::pair<std::string, std::string>> to_fields() const;
  // A job from a hash's fields. Needs kind (default run) and run_id, and for
  // kind source also source and brand unless the job is over; unknown fields
  // are ignored. bad_input naming what is wrong otherwise.
  static util::Expected<Job> from_fields(const std::map<std::string, std::string>& fields);
};

std::string_view to_string(Priority priority);
std::string_view to_string(JobState state);
std::string_view to_string(JobKind kind);
std::optional<Priority> parse_priority(std::string_view text);
std::optional<JobState> parse_job_state(std::string_view text);
std::optional<JobKind> parse_job_kind(std::string_view text);

// Every priority, most urgent first.
const std::vector<Priority>& all_priorities();

// True for the states a job leaves only by `jobs retry`.
bool is_final(JobState state);

// A stream entry or hash reply (flat name, value, name, value...) as a map.
std::map<std::string, std::string> fields_from_flat(const std::vector<std::string>& flat);

}  // namespace pipeline::queue

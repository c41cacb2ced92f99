#pragma once

// Where `pipeline serve` puts the runs it is asked for until a worker runs
// them, and what it reads back of them: the Redis queue of a Redis store
// (RedisJobBoard, run by `pipeline worker` processes or serve's own), or for
// a folder store a folder of job files that serve's own threads run
// (FolderJobBoard). A job's id is its run's id.

#include <optional>
#include <string>
#include <vector>

#include "lib/queue/job.hpp"
#include "lib/queue/job_queue.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::service {

class JobBoard {
 public:
  virtual ~JobBoard() = default;
  // Queues the job (state queued); bad_input when its run has a job that is
  // not over yet.
  virtual util::Expected<void> enqueue(queue::Job job) = 0;
  virtual util::Expected<std::optional<queue::Job>> find(const std::string& job_id) = 0;
  // Marks a queued or running job cancelled; a worker running it stops at
  // its next check. bad_input for an unknown job or one that is over.
  virtual util::Expected<queue::Job> cancel(const std::string& job_id) = 0;
  // Queues a failed, dead or cancelled job again; with `redo_from` (1-5) the
  // stages from that one on are redone, and a done job may be queued again.
  virtual util::Expected<queue::Job> retry(const std::string& job_id, int redo_from) = 0;
  // Every job, oldest first.
  virtual util::Expected<std::vector<queue::Job>> list() = 0;
  // Jobs waiting, running and retried later, and the workers alive.
  virtual util::Expected<queue::QueueCounts> counts() = 0;
};

}  // namespace pipeline::service

#pragma once

// What `GET /metrics` tells Prometheus (text format 0.0.4), every series
// named pipeline_...: the queue, runs by status, the stages this process ran
// (time, tokens, cost), its HTTP answers by code and its open event streams.

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "lib/queue/job_queue.hpp"

namespace pipeline::service {

class ServeMetrics {
 public:
  void count_response(int status);
  // Takes in a stage_done event of a run this process ran.
  void record_stage(const nlohmann::json& stage_done);
  void stream_opened() { ++m_open_streams; }
  void stream_closed() { --m_open_streams; }
  long long open_streams() const { return m_open_streams; }

  // The exposition text, with the queue's counts and the runs by status given by the caller.
  std::string render(const queue::QueueCounts& counts, const std::map<std::string, long long>& runs_by_status) const;

 private:
  struct StageFigures {
    long long count = 0;
    double seconds = 0;
    long long prompt_tokens = 0;
    long long completion_tokens = 0;
    double cost_usd = 0;
  };
  mutable std::mutex m_mutex;
  std::map<int, long long> m_responses;
  std::map<std::string, StageFigures> m_stages;
  std::atomic<long long> m_open_streams{0};
};

}  // namespace pipeline::service

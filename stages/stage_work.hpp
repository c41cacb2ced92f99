#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/llm/chat.hpp"
#include "lib/prompts/prompt_template.hpp"
#include "lib/util/expected.hpp"
#include "stages/stage.hpp"
#include "stages/stage_params.hpp"

namespace pipeline::stages {

// One model request of a stage, named so its answer can be kept as a part of
// the stage (e.g. "answer", "plan", "card-convenience", "chunk-2", "merge").
// Part names are [a-z0-9_-]+ and unique within a stage.
struct NamedRequest {
  std::string part;
  llm::ChatRequest request;
};

// What a stage may use while it produces its output: its inputs, its
// parameters and prompts, and the model. The chain implements it over a run;
// tests implement it in memory.
class StageWork {
 public:
  virtual ~StageWork() = default;
  virtual const StageContext& context() const = 0;
  // The stage's parameters as the run set them.
  virtual const StageParams& params() const = 0;
  // The model of requests whose parameters name none.
  virtual const std::string& run_model() const = 0;
  // The run's copy of one of the stage's prompt_names().
  virtual util::Expected<prompts::PromptTemplate> prompt(const std::string& name) const = 0;
  // The validated answers to `requests`, in their order, asked in parallel
  // (within the client's concurrency limit). A part answered by an earlier
  // invocation for the same request (same llm::request_fingerprint) is
  // reused without a call; each new answer is saved as a part of the stage
  // as soon as it arrives, so one that is cut off later keeps it. When any
  // request fails, every other one still ends (its answer saved) before the
  // first error is returned.
  virtual util::Expected<std::vector<nlohmann::json>> ask(const std::vector<NamedRequest>& requests) = 0;
};

}  // namespace pipeline::stages

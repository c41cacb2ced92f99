#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stages/stage_work.hpp"

namespace pipeline::testing {

// An in-memory StageWork for testing a stage's produce(): a fixed context,
// parameters and run model, the built-in prompts (or ones set by the test),
// and answers from a function that by default gives the fake server's
// deterministic JSON for the request's schema. It answers one request after
// the other, and keeps every ask() call with its requests. Thread-safe.
class MemoryStageWork : public stages::StageWork {
 public:
  using Answer = std::function<util::Expected<nlohmann::json>(const stages::NamedRequest&)>;

  MemoryStageWork(stages::StageContext context, stages::StageParams params, std::string run_model = "run-model");

  const stages::StageContext& context() const override { return m_context; }
  const stages::StageParams& params() const override { return m_params; }
  const std::string& run_model() const override { return m_run_model; }
  // The prompt set by set_prompt, else the built-in one of that name.
  util::Expected<prompts::PromptTemplate> prompt(const std::string& name) const override;
  // Every request is answered, in order; an answer that breaks its schema or
  // its check is a `failed` error, as it would be once the real client gave
  // up re-asking; so is a part name that is malformed or used before. The
  // first error is returned after all requests are answered.
  util::Expected<std::vector<nlohmann::json>> ask(const std::vector<stages::NamedRequest>& requests) override;

  void set_answer(Answer answer);
  void set_prompt(const std::string& name, prompts::PromptTemplate prompt);

  // Every ask() call so far, each with its requests in order.
  std::vector<std::vector<stages::NamedRequest>> asks() const;
  // The requests of every ask() call, in order.
  std::vector<stages::NamedRequest> requests() const;

  // The answer when none is set: the fake server's JSON for the request's schema.
  static util::Expected<nlohmann::json> default_answer(const stages::NamedRequest& request);

 private:
  stages::StageContext m_context;
  stages::StageParams m_params;
  std::string m_run_model;
  mutable std::mutex m_mutex;
  Answer m_answer;
  std::map<std::string, prompts::PromptTemplate> m_prompts;
  std::vector<std::vector<stages::NamedRequest>> m_asks;
};

}  // namespace pipeline::testing

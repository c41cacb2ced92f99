#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/llm/chat.hpp"
#include "lib/util/cancel.hpp"
#include "stages/stage_work.hpp"

namespace pipeline::stages {

// Where RunStageWork keeps what happens; the chain implements it over the
// run's checkpoint. Called from several threads at once.
class StageJournal {
 public:
  virtual ~StageJournal() = default;
  // The saved answer of `part` when it answers the request with `fingerprint`
  // and its file is intact; nullopt otherwise.
  virtual std::optional<nlohmann::json> saved_part(const std::string& part, const std::string& fingerprint) = 0;
  // Saves a new answer of `part` to a request for `model`: its file, its
  // record (the model that answered, the rung, the usage, added to the
  // stage's), its warnings, the rung learned for `model`, then the checkpoint.
  virtual util::Expected<void> save_part(const std::string& part, const std::string& fingerprint,
                                         const std::string& model, const llm::ChatResult& result) = 0;
  // Adds to the stage's usage what a call of `part` that failed was billed
  // (truncated, refused, invalid after re-asks, cut), then saves the checkpoint.
  virtual void record_spent(const std::string& part, const llm::Usage& usage) = 0;
  // Reports an event of the stage (the journal adds the stage's number and name).
  virtual void emit(nlohmann::json event) = 0;
};

// StageWork over a run: a stage's requests go to the model in parallel, and
// every answer is saved in the journal the moment it arrives.
class RunStageWork final : public StageWork {
 public:
  RunStageWork(StageContext context, StageParams params, std::string run_model,
               std::map<std::string, prompts::PromptTemplate> prompts, llm::ChatClient& client,
               const util::CancelToken& cancel, StageJournal& journal);

  const StageContext& context() const override { return m_context; }
  const StageParams& params() const override { return m_params; }
  const std::string& run_model() const override { return m_run_model; }
  util::Expected<prompts::PromptTemplate> prompt(const std::string& name) const override;
  util::Expected<std::vector<nlohmann::json>> ask(const std::vector<NamedRequest>& requests) override;

  // The prompt cache key of the stage's requests that name none (one per run
  // and stage, so that its parallel requests meet the same provider cache).
  void set_cache_key(std::string key) { m_cache_key = std::move(key); }

  // Every HTTP attempt of the calls made so far, for the stage_done event.
  nlohmann::json attempts() const;
  // How many requests were answered by the model (not from saved parts).
  int calls() const;

 private:
  util::Expected<nlohmann::json> ask_one(const NamedRequest& request);

  StageContext m_context;
  StageParams m_params;
  std::string m_run_model;
  std::map<std::string, prompts::PromptTemplate> m_prompts;
  llm::ChatClient& m_client;
  const util::CancelToken& m_cancel;
  StageJournal& m_journal;
  mutable std::mutex m_mutex;
  nlohmann::json m_attempts = nlohmann::json::array();
  int m_calls = 0;
  std::string m_cache_key;
};

// Parallel requests of one stage run on at most this many threads; the
// client's concurrency limit bounds the requests in flight below that.
inline constexpr int k_max_stage_threads = 16;

}  // namespace pipeline::stages

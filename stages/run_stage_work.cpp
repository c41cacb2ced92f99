#include "stages/run_stage_work.hpp"

#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "lib/llm/request_fingerprint.hpp"
#include "lib/util/time.hpp"

namespace pipeline::stages {

RunStageWork::RunStageWork(StageContext context, StageParams params, std::string run_model,
                           std::map<std::string, prompts::PromptTemplate> prompts, llm::ChatClient& client,
                           const util::CancelToken& cancel, StageJournal& journal)
    : m_context(std::move(context)),
      m_params(std::move(params)),
      m_run_model(std::move(run_model)),
      m_prompts(std::move(prompts)),
      m_client(client),
      m_cancel(cancel),
      m_journal(journal) {}

util::Expected<prompts::PromptTemplate> RunStageWork::prompt(const std::string& name) const {
  auto it = m_prompts.find(name);
  if (it == m_prompts.end()) {
    return util::fail(util::ErrorKind::failed, fmt::format("the stage has no prompt \"{}\"", name));
  }
  return it->second;
}

nlohmann::json RunStageWork::attempts() const {
  std::lock_guard lock(m_mutex);
  return m_attempts;
}

int RunStageWork::calls() const {
  std::lock_guard lock(m_mutex);
  return m_calls;
}

util::Expected<nlohmann::json> RunStageWork::ask_one(const NamedRequest& named) {
  const std::string fingerprint = llm::request_fingerprint(named.request);
  if (auto saved = m_journal.saved_part(named.part, fingerprint)) return std::move(*saved);
  if (auto reason = m_cancel.stop_reason(); reason != util::StopReason::none) {
    return util::fail(reason == util::StopReason::signal ? util::ErrorKind::interrupted : util::ErrorKind::deadline,
                      fmt::format("stopped before request {}", named.part));
  }
  const auto start = util::Clock::now();
  llm::CallObserver observer;
  // What every attempt of the call cost, kept when the call fails: providers bill those too.
  llm::Usage spent;
  observer.on_attempt = [&](const llm::Attempt& attempt) {
    spent += attempt.usage;
    if (!attempt.error_class.empty()) {
      m_journal.emit({{"event", "stage_retry"}, {"part", named.part}, {"attempt", attempt.to_json()}});
    }
  };
  observer.on_progress = [&](std::int64_t tokens) {
    m_journal.emit({{"event", "stage_progress"}, {"part", named.part}, {"tokens", tokens},
                    {"elapsed_s", util::seconds_since(start)}});
  };
  {
    std::lock_guard lock(m_mutex);
    ++m_calls;
  }
  auto result = [&] {
    if (!named.request.cache_key.empty() || m_cache_key.empty()) return m_client.complete(named.request, m_cancel, observer);
    llm::ChatRequest keyed = named.request;
    keyed.cache_key = m_cache_key;
    return m_client.complete(keyed, m_cancel, observer);
  }();
  if (!result) {
    if (spent.prompt_tokens > 0 || spent.completion_tokens > 0 || spent.cost_usd.value_or(0) > 0)
      m_journal.record_spent(named.part, spent);
    return result.error();
  }
  {
    std::lock_guard lock(m_mutex);
    for (const auto& attempt : result->attempts) {
      auto json = attempt.to_json();
      json["part"] = named.part;
      m_attempts.push_back(std::move(json));
    }
  }
  if (auto saved = m_journal.save_part(named.part, fingerprint, named.request.model, *result); !saved)
    return saved.error();
  nlohmann::json done = {{"event", "stage_part_done"}, {"part", named.part},
                         {"duration_s", util::seconds_since(start)}, {"usage", result->usage.to_json()},
                         {"model", result->model}};
  if (!result->rung.empty()) done["rung"] = result->rung;
  if (!result->warnings.empty()) done["warnings"] = result->warnings;
  m_journal.emit(std::move(done));
  return std::move(result->json);
}

util::Expected<std::vector<nlohmann::json>> RunStageWork::ask(const std::vector<NamedRequest>& requests) {
  std::vector<util::Expected<nlohmann::json>> answers(requests.size(), nlohmann::json());
  if (requests.size() == 1) {
    answers[0] = ask_one(requests[0]);
  } else {
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
      for (std::size_t i = next++; i < requests.size(); i = next++) answers[i] = ask_one(requests[i]);
    };
    const auto count = std::min<std::size_t>(requests.size(), k_max_stage_threads);
    std::vector<std::jthread> threads;
    for (std::size_t i = 0; i < count; ++i) threads.emplace_back(worker);
  }
  std::vector<nlohmann::json> out;
  for (auto& answer : answers) {
    if (!answer) return answer.error();
    out.push_back(std::move(*answer));
  }
  return out;
}

}  // namespace pipeline::stages

#include "tests/support/memory_stage_work.hpp"

#include <optional>
#include <set>

#include "lib/llm/json_schema.hpp"
#include "tests/support/memory_chat_client.hpp"

namespace pipeline::testing {
namespace {

bool is_part_name(const std::string& part) {
  if (part.empty()) return false;
  for (char c : part) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

// The answer's problem with its request's schema or check; empty when none.
std::string answer_problem(const llm::ChatRequest& request, const nlohmann::json& answer) {
  if (request.schema) {
    const auto problems = llm::validate_json(*request.schema, answer);
    if (!problems.empty()) return "the answer breaks the schema: " + problems.front();
  }
  if (request.check) {
    const std::string problem = request.check(answer);
    if (!problem.empty()) return "the answer fails the check: " + problem;
  }
  return {};
}

}  // namespace

MemoryStageWork::MemoryStageWork(stages::StageContext context, stages::StageParams params, std::string run_model)
    : m_context(std::move(context)), m_params(std::move(params)), m_run_model(std::move(run_model)) {}

util::Expected<prompts::PromptTemplate> MemoryStageWork::prompt(const std::string& name) const {
  {
    std::lock_guard lock(m_mutex);
    if (auto found = m_prompts.find(name); found != m_prompts.end()) return found->second;
  }
  return prompts::load_prompt(name);
}

util::Expected<std::vector<nlohmann::json>> MemoryStageWork::ask(const std::vector<stages::NamedRequest>& requests) {
  Answer answer;
  std::set<std::string> used;
  {
    std::lock_guard lock(m_mutex);
    for (const auto& earlier : m_asks) {
      for (const auto& request : earlier) used.insert(request.part);
    }
    m_asks.push_back(requests);
    answer = m_answer ? m_answer : Answer(&MemoryStageWork::default_answer);
  }
  std::optional<util::Error> first_error;
  std::vector<nlohmann::json> answers;
  for (const auto& request : requests) {
    if (!is_part_name(request.part) || !used.insert(request.part).second) {
      if (!first_error) first_error = util::fail(util::ErrorKind::failed, "part name \"" + request.part + "\" is malformed or used twice");
      continue;
    }
    auto result = answer(request);
    if (!result) {
      if (!first_error) first_error = result.error();
      continue;
    }
    if (const std::string problem = answer_problem(request.request, *result); !problem.empty()) {
      if (!first_error) first_error = util::fail(util::ErrorKind::failed, "part " + request.part + ": " + problem);
      continue;
    }
    answers.push_back(std::move(*result));
  }
  if (first_error) return *first_error;
  return answers;
}

void MemoryStageWork::set_answer(Answer answer) {
  std::lock_guard lock(m_mutex);
  m_answer = std::move(answer);
}

void MemoryStageWork::set_prompt(const std::string& name, prompts::PromptTemplate prompt) {
  std::lock_guard lock(m_mutex);
  m_prompts[name] = std::move(prompt);
}

std::vector<std::vector<stages::NamedRequest>> MemoryStageWork::asks() const {
  std::lock_guard lock(m_mutex);
  return m_asks;
}

std::vector<stages::NamedRequest> MemoryStageWork::requests() const {
  std::lock_guard lock(m_mutex);
  std::vector<stages::NamedRequest> all;
  for (const auto& ask : m_asks) all.insert(all.end(), ask.begin(), ask.end());
  return all;
}

util::Expected<nlohmann::json> MemoryStageWork::default_answer(const stages::NamedRequest& request) {
  return MemoryChatClient::default_answer(request.request).json;
}

}  // namespace pipeline::testing

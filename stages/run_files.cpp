#include "stages/run_files.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "lib/llm/chat.hpp"

namespace pipeline::stages {

std::string prompt_path(const std::string& prompt_name) { return fmt::format("input/prompts/{}.prompt", prompt_name); }

std::string prompt_path(const Stage& stage) { return prompt_path(std::string(stage.name())); }

std::string part_path(const Stage& stage, const std::string& part) {
  return fmt::format("stages/{:02}-{}.parts/{}.json", stage.number(), stage.name(), part);
}

std::string reasoning_path(const Stage& stage, const std::string& part) {
  return fmt::format("stages/{:02}-{}.parts/{}.reasoning.txt", stage.number(), stage.name(), part);
}

std::string output_path(const Stage& stage) { return fmt::format("stages/{:02}-{}.json", stage.number(), stage.name()); }

nlohmann::json run_usage(const checkpoints::RunState& state) {
  llm::Usage total;
  bool cost_known = true;
  for (const auto& record : state.stages) {
    if (record.usage.empty()) continue;
    const auto usage = llm::Usage::from_json(record.usage);
    cost_known = cost_known && usage.cost_usd.has_value();
    total += usage;
  }
  auto json = total.to_json();
  if (!cost_known) json["cost_usd"] = nullptr;
  return json;
}

nlohmann::json answered_by(const checkpoints::StageRecord& record) {
  nlohmann::json models = nlohmann::json::array();
  nlohmann::json rungs = nlohmann::json::array();
  auto add = [](nlohmann::json& list, const std::string& value) {
    if (!value.empty() && std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
  };
  for (const auto& part : record.parts) {
    add(models, part.model);
    add(rungs, part.rung);
  }
  return {{"models", models}, {"rungs", rungs}};
}

nlohmann::json stage_artifacts(const checkpoints::StageRecord& record) {
  nlohmann::json paths = nlohmann::json::array();
  for (const auto& artifact : record.artifacts) paths.push_back(artifact.path);
  return paths;
}

nlohmann::json run_artifacts(const checkpoints::RunState& state) {
  nlohmann::json paths = nlohmann::json::array();
  for (const auto& record : state.stages) {
    for (const auto& artifact : record.artifacts) paths.push_back(artifact.path);
  }
  if (state.status == checkpoints::RunStatus::completed) {
    paths.push_back(k_report_path);
    paths.push_back(k_html_report_path);
  }
  return paths;
}

}  // namespace pipeline::stages

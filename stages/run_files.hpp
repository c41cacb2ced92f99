#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "checkpoints/run_state.hpp"
#include "stages/stage.hpp"

namespace pipeline::stages {

// Where a run keeps its files, relative to the run directory.
inline constexpr const char* k_document_path = "input/document.txt";
inline constexpr const char* k_brand_path = "input/brand.json";
inline constexpr const char* k_report_path = "report.md";
inline constexpr const char* k_html_report_path = "report.html";

// input/prompts/<name>.prompt: a prompt the run was created with.
std::string prompt_path(const std::string& prompt_name);
std::string prompt_path(const Stage& stage);

// stages/NN-<name>.parts/<part>.json: the answer of one request of a stage.
std::string part_path(const Stage& stage, const std::string& part);

// stages/NN-<name>.parts/<part>.reasoning.txt: the model's thinking for that answer (--keep-reasoning).
std::string reasoning_path(const Stage& stage, const std::string& part);

// stages/NN-<name>.json: the stage's validated output, read by later stages.
std::string output_path(const Stage& stage);

// Tokens and cost summed over the run's stages.
nlohmann::json run_usage(const checkpoints::RunState& state);

// The models and structured-output rungs that answered a stage's requests,
// each once, in the order of its parts: {"models": [...], "rungs": [...]}.
nlohmann::json answered_by(const checkpoints::StageRecord& record);

// The paths of a stage's artifacts, and of all the run's.
nlohmann::json stage_artifacts(const checkpoints::StageRecord& record);
nlohmann::json run_artifacts(const checkpoints::RunState& state);

}  // namespace pipeline::stages

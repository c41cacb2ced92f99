#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/util/expected.hpp"

namespace pipeline::stages {

// Request parameters of one stage; an empty model means the run's model.
// There are no defaults here: a stage's own come from Stage::default_params.
struct StageParams {
  double temperature{};
  int max_tokens{};
  std::string model;
  // The most input tokens (llm::estimate_tokens) one request may carry; 0
  // means the stage has no such limit. Stage 1 splits a longer document into
  // chunks of pages. Written by to_json only when not 0.
  int max_input_tokens{};
  // none, minimal, low, medium or high; empty: the run's (--reasoning-effort).
  // Written by to_json only when set.
  std::string reasoning_effort{};
  // The stage's own rate limits (requests and tokens per minute), in place
  // of --rpm and --tpm for its requests; 0: those. Written by to_json only
  // when set, and no part of the stage's fingerprint.
  int rpm{};
  std::int64_t tpm{};
  nlohmann::json to_json() const;
  // Reads what to_json wrote; a member that is missing or of another type
  // stays zero. Settings that may have been edited by hand go through
  // parse_stage_params or stage_params_from_settings instead.
  static StageParams from_json(const nlohmann::json& json);
};

// The reasoning efforts a model may be asked for, least first.
const std::vector<std::string>& reasoning_efforts();
bool is_reasoning_effort(const std::string& effort);

// Stage parameters from a config file, flags or settings, over `defaults`:
// only temperature (0 to 2), max_tokens (1 to 1000000), model,
// reasoning_effort (one of reasoning_efforts()), rpm and tpm (0 or more) and, for a
// stage whose defaults have one, max_input_tokens (1000 to 10000000) are allowed.
// bad_input names `where` (e.g. "config.json: stages.signals") and the key.
util::Expected<StageParams> parse_stage_params(const nlohmann::json& json, const StageParams& defaults,
                                               const std::string& where);

}  // namespace pipeline::stages

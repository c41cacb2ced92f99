#include "stages/stage_params.hpp"

#include <algorithm>
#include <cstdint>

namespace pipeline::stages {

namespace {

// The range of max_input_tokens: below 1000 not even a prompt fits; the top is
// far past any model's context window.
constexpr std::int64_t k_least_input_tokens = 1000;
constexpr std::int64_t k_most_input_tokens = 10'000'000;

}  // namespace

const std::vector<std::string>& reasoning_efforts() {
  static const std::vector<std::string> efforts = {"none", "minimal", "low", "medium", "high"};
  return efforts;
}

bool is_reasoning_effort(const std::string& effort) {
  const auto& efforts = reasoning_efforts();
  return std::find(efforts.begin(), efforts.end(), effort) != efforts.end();
}

nlohmann::json StageParams::to_json() const {
  nlohmann::json json = {{"temperature", temperature}, {"max_tokens", max_tokens}, {"model", model}};
  if (max_input_tokens != 0) json["max_input_tokens"] = max_input_tokens;
  if (!reasoning_effort.empty()) json["reasoning_effort"] = reasoning_effort;
  if (rpm != 0) json["rpm"] = rpm;
  if (tpm != 0) json["tpm"] = tpm;
  return json;
}

StageParams StageParams::from_json(const nlohmann::json& json) {
  StageParams params;
  if (!json.is_object()) return params;
  if (auto found = json.find("temperature"); found != json.end() && found->is_number()) params.temperature = found->get<double>();
  if (auto found = json.find("max_tokens"); found != json.end() && found->is_number_integer()) params.max_tokens = found->get<int>();
  if (auto found = json.find("model"); found != json.end() && found->is_string()) params.model = found->get<std::string>();
  if (auto found = json.find("max_input_tokens"); found != json.end() && found->is_number_integer()) {
    params.max_input_tokens = found->get<int>();
  }
  if (auto found = json.find("reasoning_effort"); found != json.end() && found->is_string() &&
      is_reasoning_effort(found->get<std::string>())) {
    params.reasoning_effort = found->get<std::string>();
  }
  if (auto found = json.find("rpm"); found != json.end() && found->is_number_integer()) params.rpm = found->get<int>();
  if (auto found = json.find("tpm"); found != json.end() && found->is_number_integer()) {
    params.tpm = found->get<std::int64_t>();
  }
  return params;
}

util::Expected<StageParams> parse_stage_params(const nlohmann::json& json, const StageParams& defaults, const std::string& where) {
  using util::ErrorKind;
  using util::fail;
  if (!json.is_object()) return fail(ErrorKind::bad_input, where + ": stage parameters must be an object");
  StageParams params = defaults;
  for (const auto& [key, value] : json.items()) {
    if (key == "temperature") {
      if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > 2) {
        return fail(ErrorKind::bad_input, where + ": temperature must be a number from 0 to 2");
      }
      params.temperature = value.get<double>();
    } else if (key == "max_tokens") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 1 || value.get<std::int64_t>() > 1'000'000) {
        return fail(ErrorKind::bad_input, where + ": max_tokens must be a whole number from 1 to 1000000");
      }
      params.max_tokens = value.get<int>();
    } else if (key == "model") {
      if (!value.is_string()) return fail(ErrorKind::bad_input, where + ": model must be a string");
      params.model = value.get<std::string>();
    } else if (key == "reasoning_effort") {
      if (!value.is_string() || !is_reasoning_effort(value.get<std::string>())) {
        return fail(ErrorKind::bad_input,
                    where + ": reasoning_effort must be one of none, minimal, low, medium, high");
      }
      params.reasoning_effort = value.get<std::string>();
    } else if (key == "rpm" || key == "tpm") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 0 ||
          value.get<std::int64_t>() > (key == "rpm" ? 10'000'000 : 100'000'000'000)) {
        return fail(ErrorKind::bad_input, where + ": " + key + " must be a whole number of 0 or more (0: --" + key + ")");
      }
      if (key == "rpm") params.rpm = value.get<int>();
      else params.tpm = value.get<std::int64_t>();
    } else if (key == "max_input_tokens" && defaults.max_input_tokens == 0) {
      return fail(ErrorKind::bad_input, where + ": max_input_tokens does not apply: this stage does not split its input");
    } else if (key == "max_input_tokens") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < k_least_input_tokens ||
          value.get<std::int64_t>() > k_most_input_tokens) {
        return fail(ErrorKind::bad_input, where + ": max_input_tokens must be a whole number from 1000 to 10000000");
      }
      params.max_input_tokens = value.get<int>();
    } else {
      const std::string known = defaults.max_input_tokens == 0
                                    ? "temperature, max_tokens, model, reasoning_effort, rpm, tpm"
                                    : "temperature, max_tokens, model, reasoning_effort, rpm, tpm, max_input_tokens";
      return fail(ErrorKind::bad_input, where + ": unknown stage parameter \"" + key + "\" (known: " + known + ")");
    }
  }
  return params;
}

}  // namespace pipeline::stages

#include "stages/stage_params.hpp"

namespace pipeline::stages {

nlohmann::json StageParams::to_json() const {
  return {{"temperature", temperature}, {"max_tokens", max_tokens}, {"model", model}};
}

StageParams StageParams::from_json(const nlohmann::json& json) {
  StageParams params;
  if (!json.is_object()) return params;
  if (auto found = json.find("temperature"); found != json.end() && found->is_number()) params.temperature = found->get<double>();
  if (auto found = json.find("max_tokens"); found != json.end() && found->is_number_integer()) params.max_tokens = found->get<int>();
  if (auto found = json.find("model"); found != json.end() && found->is_string()) params.model = found->get<std::string>();
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
    } else {
      return fail(ErrorKind::bad_input, where + ": unknown stage parameter \"" + key + "\" (known: temperature, max_tokens, model)");
    }
  }
  return params;
}

}  // namespace pipeline::stages

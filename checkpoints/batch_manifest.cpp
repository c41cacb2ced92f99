#include "checkpoints/batch_manifest.hpp"

#include <fmt/format.h>

#include "checkpoints/run_state.hpp"

namespace pipeline::checkpoints {

nlohmann::json to_json(const BatchManifest& manifest) {
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& run : manifest.runs) runs.push_back({{"run_id", run.run_id}, {"input", run.input}, {"brand", run.brand}});
  return {{"batch_id", manifest.batch_id}, {"tool_version", manifest.tool_version},
          {"created_at", manifest.created_at}, {"inputs", manifest.inputs},
          {"brands", manifest.brands},     {"runs", std::move(runs)},
          {"settings", manifest.settings}};
}

util::Expected<BatchManifest> batch_from_json(const nlohmann::json& json) {
  auto bad = [](const std::string& what) { return util::fail(util::ErrorKind::bad_input, "batch manifest: " + what); };
  if (!json.is_object()) return bad("not a JSON object");
  BatchManifest manifest;
  try {
    manifest.batch_id = json.at("batch_id").get<std::string>();
    manifest.tool_version = json.value("tool_version", "");
    manifest.created_at = json.value("created_at", "");
    manifest.inputs = json.at("inputs").get<std::vector<std::string>>();
    manifest.brands = json.at("brands").get<std::vector<std::string>>();
    manifest.settings = json.value("settings", nlohmann::json::object());
    for (const auto& run : json.at("runs")) {
      manifest.runs.push_back({run.at("run_id").get<std::string>(), run.at("input").get<std::string>(),
                               run.at("brand").get<std::string>()});
    }
  } catch (const nlohmann::json::exception& error) {
    return bad(std::string("a field is missing or of the wrong type (") + error.what() + ")");
  }
  if (!is_valid_run_id(manifest.batch_id)) return bad(fmt::format("\"{}\" is not a valid batch id", manifest.batch_id));
  for (const auto& run : manifest.runs) {
    if (!is_valid_run_id(run.run_id)) return bad(fmt::format("\"{}\" is not a valid run id", run.run_id));
  }
  return manifest;
}

std::string generate_batch_id() { return generate_run_id("batch", ""); }

}  // namespace pipeline::checkpoints

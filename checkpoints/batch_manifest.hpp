#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/util/expected.hpp"

namespace pipeline::checkpoints {

// One run of a batch: a document for a brand.
struct BatchRun {
  std::string run_id;
  std::string input;  // the path or URL given
  std::string brand;  // the brand's id
};

// A batch: its runs, in the order they are started (document by document, so
// that the runs sharing a document's stages 1 to 3 run close together). The
// runs' own checkpoints say how far each one is.
struct BatchManifest {
  std::string batch_id;
  std::string tool_version;
  std::string created_at;
  std::vector<std::string> inputs;
  std::vector<std::string> brands;
  std::vector<BatchRun> runs;
  nlohmann::json settings = nlohmann::json::object();  // jobs, max_cost_usd
};

nlohmann::json to_json(const BatchManifest& manifest);
// bad_input naming the field for a manifest that is not one.
util::Expected<BatchManifest> batch_from_json(const nlohmann::json& json);

// "batch-<yyyymmdd-hhmmss>-<4 hex>"; a valid run id too, so batches and runs
// share one namespace of ids.
std::string generate_batch_id();

}  // namespace pipeline::checkpoints

#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/util/expected.hpp"

namespace pipeline::stages {

struct StageParams;  // stages/stage_params.hpp
class StageWork;     // stages/stage_work.hpp

// What a stage reads: the document, the brand (stages 4 and 5 only) and the
// JSON outputs of the earlier stages it names.
struct StageContext {
  std::string document_text;
  std::string document_title;
  std::string brand_text;  // brand::to_prompt_text of the run's snapshot
  nlohmann::json brand_profile;  // the snapshot's profile JSON (brand stages only), for checks against it
  std::map<int, nlohmann::json> outputs;  // by stage number
};

// A file a stage writes into the run directory; path is relative to it.
struct RenderedFile {
  std::string path;
  std::string content;
};

// One of the five stages: everything that makes it different from the others.
class Stage {
 public:
  virtual ~Stage() = default;
  virtual int number() const = 0;
  virtual std::string_view name() const = 0;   // its command: mechanisms, signals, lessons, contextualize, opportunities
  virtual std::string_view title() const = 0;  // e.g. "Input processing: mechanisms"
  virtual std::vector<int> reads() const = 0;  // earlier stage numbers whose outputs it needs
  virtual bool uses_brand() const = 0;
  virtual StageParams default_params() const = 0;
  virtual const nlohmann::json& schema() const = 0;
  // Values for the placeholders of the stage's prompt.
  virtual std::map<std::string, std::string> prompt_variables(const StageContext& context) const = 0;
  // The artifacts of a validated output: at least NN-name.json and NN-name.md under stages/.
  virtual std::vector<RenderedFile> render(const nlohmann::json& output) const = 0;
  // The prompts the stage uses, by file name without ".prompt": its own
  // (named like the stage) first, then any extra ones (e.g. a merge prompt).
  // A run snapshots all of them when it is made.
  virtual std::vector<std::string> prompt_names() const;
  // The stage's output, valid against schema(), asked of the model through
  // `work`. The default asks one request built from the stage's own prompt,
  // as part "answer"; stages that need several calls override it.
  virtual util::Expected<nlohmann::json> produce(StageWork& work) const;
  // What the stage had to assume of its inputs (e.g. a brand fact the profile
  // does not state), one sentence each; the chain keeps them as warnings.
  virtual std::vector<std::string> input_notes(const StageContext& context) const;
};

// The parameters of `stage` in a checkpoint's settings: settings.stages.<name>
// over the stage's defaults, or the defaults when the run has no entry for it.
// bad_input, naming "checkpoint settings.stages.<name>", for a bad value.
util::Expected<StageParams> stage_params_from_settings(const Stage& stage, const nlohmann::json& settings);

}  // namespace pipeline::stages

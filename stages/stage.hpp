#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/llm/chat.hpp"
#include "lib/prompts/prompt_template.hpp"

namespace pipeline::stages {

// Request parameters of one stage; an empty model means the run's model.
struct StageParams {
  double temperature = 0.7;
  int max_tokens = 4000;
  std::string model;
  nlohmann::json to_json() const;
  static StageParams from_json(const nlohmann::json& json);
};

// What a stage reads: the document, the brand (stages 4 and 5 only) and the
// JSON outputs of the earlier stages it names.
struct StageContext {
  std::string document_text;
  std::string document_title;
  std::string brand_text;  // brand::to_prompt_text of the run's snapshot
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
};

// The five stages in order, numbered 1 to 5.
const std::vector<std::unique_ptr<Stage>>& all_stages();

// A stage by number ("3") or name ("lessons"); nullptr when there is none.
const Stage* find_stage(std::string_view number_or_name);

// The chat request for a stage: the filled prompt, its parameters and schema.
util::Expected<llm::ChatRequest> build_request(const Stage& stage, const prompts::PromptTemplate& prompt,
                                               const StageContext& context, const StageParams& params,
                                               const std::string& run_model);

// report.md: every stage's Markdown and the cards, in order.
std::string render_report(const std::string& run_id, const std::map<int, nlohmann::json>& outputs);

// Stage parameters from a config file or flags, over `defaults`: only
// temperature (0 to 2), max_tokens (1 to 1000000) and model are allowed.
// bad_input names `where` (e.g. "config.json: stages.signals") and the key.
util::Expected<StageParams> parse_stage_params(const nlohmann::json& json, const StageParams& defaults,
                                               const std::string& where);

}  // namespace pipeline::stages

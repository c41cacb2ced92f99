#include "stages/signals_stage.hpp"

#include <algorithm>

#include "stages/markdown.hpp"
#include "stages/mechanism_refs.hpp"
#include "stages/prompt_inputs.hpp"
#include "stages/schema_builder.hpp"
#include "stages/stage_files.hpp"
#include "stages/stage_params.hpp"
#include "stages/stage_request.hpp"
#include "stages/stage_work.hpp"
#include "stages/vocabulary.hpp"

namespace pipeline::stages {
namespace {

namespace md = markdown;

const std::vector<std::string>& momentum_levels() {
  static const std::vector<std::string> values = {"emerging", "growing", "mainstream"};
  return values;
}

nlohmann::json ten_type_schema() { return schema::enumeration(vocabulary::ten_types(), "One of Doblin's Ten Types of Innovation"); }

nlohmann::json anatomy_schema() {
  using namespace schema;
  const auto ten_type = ten_type_schema();
  return object({
      {"mechanism_id", enumeration(vocabulary::mechanism_ids(), "The stage 1 mechanism this classifies")},
      {"classification_rationale",
       string("What the example actually changed, and which of the ten types that makes it (primary, then others)")},
      {"primary_type", ten_type},
      {"secondary_types", array(ten_type, 0, 4, "Other types the mechanism also relies on; never the primary type again")},
      {"reinforcement", string("How the types reinforce each other; for a single type, what it leaves exposed")},
      {"defensibility_rationale", string("What a competitor would have to copy, and how hard that is")},
      {"defensibility", enumeration(vocabulary::defensibility_levels(),
                                    "low: one type; medium: two or three adjacent types; high: four or more types "
                                    "spanning categories")},
  });
}

nlohmann::json make_signals_schema() {
  using namespace schema;
  const auto ten_type = ten_type_schema();
  const auto anatomy = anatomy_schema();
  const auto signal = object({
      {"name", string("A short name for the trend or signal", 100)},
      {"description", string("What is shifting, for whom, and in which direction")},
      {"evidence", string("What in the document, or which widely known development, shows it")},
      {"mechanism_ids", array(enumeration(vocabulary::mechanism_ids(), "A mechanism that rides on this signal"), 1, 3)},
      {"momentum", enumeration(momentum_levels(), "How far along the signal is")},
  });
  return object({
      {"anatomies", array(anatomy, 1, 3, "One classification per stage 1 mechanism, in the same order")},
      {"combination", object({
                          {"types", array(ten_type, 1, 10, "Every type used across all mechanisms, each once")},
                          {"rationale", string("How the mechanisms together protect the innovation, or fail to")},
                          {"defensibility", enumeration(vocabulary::defensibility_levels(),
                                                        "Defensibility of the whole innovation by the same rule")},
                      }, "The innovation as a whole")},
      {"signals", array(signal, 2, 6, "The wider trends and signals the innovation rides on")},
  });
}

// What the model answers: the output's schema with one anatomy per stage 1
// mechanism as an object under its id, so that no mechanism is classified
// twice or left out by construction; the program writes each mechanism_id
// (signals_output).
nlohmann::json signals_answer_schema(const std::vector<std::string>& ids) {
  nlohmann::json anatomy = anatomy_schema();
  anatomy["properties"].erase("mechanism_id");
  anatomy["required"].erase(std::remove(anatomy["required"].begin(), anatomy["required"].end(), "mechanism_id"),
                            anatomy["required"].end());
  nlohmann::json anatomies = schema::object({}, "One classification per stage 1 mechanism, under its id");
  for (const auto& id : ids) {
    anatomies["properties"][id] = anatomy;
    anatomies["required"].push_back(id);
  }
  nlohmann::json answer = make_signals_schema();
  answer["properties"]["anatomies"] = std::move(anatomies);
  return answer;
}

// The output from the answer: the anatomies as a list in stage 1's order,
// each with its mechanism_id; and each signal naming a mechanism once (a
// mechanism named twice is named once, in its first place).
nlohmann::json signals_output(nlohmann::json answer, const std::vector<std::string>& ids) {
  nlohmann::json anatomies = nlohmann::json::array();
  const auto& answered = md::child(answer, "anatomies");
  for (const auto& id : ids) {
    nlohmann::json anatomy = md::child(answered, id);
    if (!anatomy.is_object()) continue;
    anatomy["mechanism_id"] = id;
    anatomies.push_back(std::move(anatomy));
  }
  answer["anatomies"] = std::move(anatomies);
  if (answer.contains("signals") && answer["signals"].is_array()) {
    for (auto& signal : answer["signals"]) {
      if (!signal.is_object() || !signal.contains("mechanism_ids") || !signal["mechanism_ids"].is_array()) continue;
      nlohmann::json once = nlohmann::json::array();
      for (const auto& id : signal["mechanism_ids"])
        if (std::find(once.begin(), once.end(), id) == once.end()) once.push_back(id);
      signal["mechanism_ids"] = std::move(once);
    }
  }
  return answer;
}

std::string type_with_category(const std::string& type) {
  return md::label(type) + " (" + std::string(vocabulary::ten_type_category(type)) + ")";
}

std::string join_ids(const std::vector<std::string>& values, std::string (*format)(const std::string&)) {
  std::string out;
  for (const auto& value : values) out += (out.empty() ? "" : ", ") + format(value);
  return out;
}

std::string signals_markdown(const SignalsStage& stage, const nlohmann::json& output) {
  std::string out = md::heading(1, stage_heading(stage));
  std::vector<std::vector<std::string>> rows;
  for (const auto& anatomy : md::child(output, "anatomies")) {
    std::string secondary = join_ids(md::texts(anatomy, "secondary_types"), type_with_category);
    rows.push_back({md::text(anatomy, "mechanism_id"), type_with_category(md::text(anatomy, "primary_type")),
                    secondary.empty() ? "none" : secondary, md::label(md::text(anatomy, "defensibility"))});
  }
  out += md::heading(2, "Innovation anatomy");
  out += md::table({"Mechanism", "Primary type", "Secondary types", "Defensibility"}, rows);
  for (const auto& anatomy : md::child(output, "anatomies")) {
    out += md::heading(3, "Mechanism " + md::text(anatomy, "mechanism_id"));
    out += md::field("Why these types", md::text(anatomy, "classification_rationale"));
    out += md::field("How they reinforce each other", md::text(anatomy, "reinforcement"));
    out += md::field("Defensibility", md::label(md::text(anatomy, "defensibility")) + ": " +
                                          md::text(anatomy, "defensibility_rationale"));
  }
  const auto& combination = md::child(output, "combination");
  out += md::heading(2, "The combination");
  out += md::field("Types", join_ids(md::texts(combination, "types"), type_with_category));
  out += md::field("Defensibility", md::label(md::text(combination, "defensibility")));
  out += md::paragraph(md::text(combination, "rationale"));
  out += md::heading(2, "Signals it rides on");
  for (const auto& signal : md::child(output, "signals")) {
    std::string ids;
    for (const auto& id : md::texts(signal, "mechanism_ids")) ids += (ids.empty() ? "" : ", ") + id;
    out += md::heading(3, md::text(signal, "name"));
    out += md::paragraph(md::text(signal, "description"));
    out += md::field("Evidence", md::text(signal, "evidence"));
    out += md::field("Momentum", md::label(md::text(signal, "momentum")));
    out += md::field("Mechanisms", ids);
  }
  return out;
}

}  // namespace

StageParams SignalsStage::default_params() const { return {0.3, 5000, {}}; }

const nlohmann::json& SignalsStage::schema() const {
  static const nlohmann::json schema = make_signals_schema();
  return schema;
}

std::map<std::string, std::string> SignalsStage::prompt_variables(const StageContext& context) const {
  return standard_variables(*this, context);
}

util::Expected<nlohmann::json> SignalsStage::produce(StageWork& work) const {
  auto prompt = work.prompt(std::string(name()));
  if (!prompt) return prompt.error();
  auto request = build_request(*this, *prompt, work.context(), work.params(), work.run_model());
  if (!request) return request.error();
  const std::vector<std::string> found = found_mechanism_ids(work.context());
  const std::vector<std::string>& ids = found.empty() ? vocabulary::mechanism_ids() : found;
  request->schema = limit_mechanism_refs(signals_answer_schema(ids), found);
  auto answers = work.ask({NamedRequest{"answer", std::move(*request)}});
  if (!answers) return answers.error();
  return signals_output(std::move(answers->front()), ids);
}

std::vector<RenderedFile> SignalsStage::render(const nlohmann::json& output) const {
  return stage_files(*this, output, signals_markdown(*this, output));
}

}  // namespace pipeline::stages

#include "stages/prompt_inputs.hpp"

#include <cctype>

#include "stages/stage_registry.hpp"
#include "stages/vague_words.hpp"
#include "lib/util/text.hpp"

namespace pipeline::stages {
namespace {


std::string attribute_value(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '<' || c == '>') continue;
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  return out.empty() ? "untitled" : out;
}

}  // namespace

std::string data_block(std::string_view tag, std::string_view attributes, std::string_view content) {
  const std::string closing = "</" + std::string(tag);
  std::string out = "<" + std::string(tag);
  if (!attributes.empty()) out += " " + std::string(attributes);
  out += ">\n";
  for (size_t i = 0; i < content.size(); ++i) {
    if (content[i] == '<' && util::starts_with_ignoring_case(std::string_view(content).substr(i), closing)) {
      out += "<\\";
      continue;
    }
    out += content[i];
  }
  if (out.back() != '\n') out += '\n';
  out += closing + ">";
  return out;
}

std::string json_lines(const nlohmann::json& value) {
  const auto compact = [](const nlohmann::json& json) { return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); };
  if (value.empty() || !value.is_structured()) return compact(value);
  std::string out = value.is_object() ? "{" : "[";
  for (const auto& [name, member] : value.items())
    out += (out.size() > 1 ? ",\n" : "\n") + (value.is_object() ? compact(nlohmann::json(name)) + ":" : std::string()) + compact(member);
  return out + (value.is_object() ? "\n}" : "\n]");
}

std::map<std::string, std::string> standard_variables(const Stage& stage, const StageContext& context) {
  std::map<std::string, std::string> variables;
  const std::string title = attribute_value(context.document_title);
  variables["document_title"] = title;
  variables["document"] = data_block("document", "title=\"" + title + "\"", context.document_text);
  variables["vague_words"] = vague_words_text();
  if (stage.uses_brand()) variables["brand"] = data_block("brand_profile", {}, context.brand_text);
  for (int number : stage.reads()) {
    const Stage* earlier = find_stage(std::to_string(number));
    if (!earlier) continue;
    auto found = context.outputs.find(number);
    const nlohmann::json output = found == context.outputs.end() ? nlohmann::json::object() : found->second;
    const std::string attributes = "stage=\"" + std::to_string(number) + "\" name=\"" + std::string(earlier->name()) + "\"";
    variables[std::string(earlier->name())] = data_block("stage_output", attributes, json_lines(output));
  }
  return variables;
}

}  // namespace pipeline::stages

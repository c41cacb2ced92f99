#include "stages/mechanism_refs.hpp"

namespace pipeline::stages {
namespace {

void limit_refs(nlohmann::json& schema, const nlohmann::json& ids) {
  if (!schema.is_object()) return;
  if (auto properties = schema.find("properties"); properties != schema.end() && properties->is_object()) {
    for (auto& [name, member] : properties->items()) {
      if (name == "mechanism_id" && member.contains("enum")) {
        member["enum"] = ids;
      } else if (name == "mechanism_ids" && member.contains("items") && member["items"].contains("enum")) {
        member["items"]["enum"] = ids;
      } else {
        limit_refs(member, ids);
      }
    }
  }
  if (auto items = schema.find("items"); items != schema.end()) limit_refs(*items, ids);
  if (auto options = schema.find("anyOf"); options != schema.end() && options->is_array())
    for (auto& option : *options) limit_refs(option, ids);
  if (auto defs = schema.find("$defs"); defs != schema.end() && defs->is_object())
    for (auto& [name, definition] : defs->items()) limit_refs(definition, ids);
}

}  // namespace

void number_mechanisms(nlohmann::json& output) {
  auto mechanisms = output.find("mechanisms");
  if (mechanisms == output.end() || !mechanisms->is_array()) return;
  for (std::size_t i = 0; i < mechanisms->size(); ++i) {
    if ((*mechanisms)[i].is_object()) (*mechanisms)[i]["id"] = "M" + std::to_string(i + 1);
  }
}

std::vector<std::string> found_mechanism_ids(const StageContext& context) {
  std::vector<std::string> ids;
  auto output = context.outputs.find(1);
  if (output == context.outputs.end() || !output->second.contains("mechanisms")) return ids;
  for (const auto& mechanism : output->second["mechanisms"]) {
    if (mechanism.is_object() && mechanism.contains("id") && mechanism["id"].is_string()) ids.push_back(mechanism["id"]);
  }
  return ids;
}

nlohmann::json limit_mechanism_refs(nlohmann::json schema, const std::vector<std::string>& ids) {
  if (ids.empty()) return schema;
  limit_refs(schema, nlohmann::json(ids));
  return schema;
}

}  // namespace pipeline::stages

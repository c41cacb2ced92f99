#include "tests/support/schema_checks.hpp"

#include <regex>
#include <set>

namespace pipeline::testing {
namespace {

const std::set<std::string>& allowed_keywords() {
  static const std::set<std::string> keywords = {"type",      "properties", "required", "additionalProperties",
                                                 "enum",      "const",      "items",    "minItems",
                                                 "maxItems",  "minLength",  "maxLength", "minimum",
                                                 "maximum",   "pattern",    "description", "anyOf"};
  return keywords;
}

std::vector<std::string> types_of(const nlohmann::json& schema) {
  std::vector<std::string> types;
  auto found = schema.find("type");
  if (found == schema.end()) return types;
  if (found->is_string()) types.push_back(found->get<std::string>());
  if (found->is_array()) {
    for (const auto& type : *found) {
      if (type.is_string()) types.push_back(type.get<std::string>());
    }
  }
  return types;
}

bool has_type(const std::vector<std::string>& types, const std::string& type) {
  for (const auto& t : types) {
    if (t == type) return true;
  }
  return false;
}

void check_subset(const nlohmann::json& schema, const std::string& where, std::vector<std::string>& problems,
                  const nlohmann::json& root) {
  if (!schema.is_object()) {
    problems.push_back(where + ": a schema node must be an object");
    return;
  }
  // A reference stands alone and names a definition of the root's $defs.
  if (auto ref = schema.find("$ref"); ref != schema.end()) {
    const std::string target = ref->is_string() ? ref->get<std::string>() : std::string();
    const auto defs = root.find("$defs");
    if (schema.size() != 1) problems.push_back(where + ": $ref with other keywords");
    if (target.rfind("#/$defs/", 0) != 0 || defs == root.end() || !defs->contains(target.substr(8)))
      problems.push_back(where + ": $ref to no definition");
    return;
  }
  for (const auto& [key, value] : schema.items()) {
    if (key == "$defs" && &schema == &root) continue;
    if (!allowed_keywords().count(key)) problems.push_back(where + ": keyword \"" + key + "\" is outside the subset");
  }
  if (auto defs = schema.find("$defs"); defs != schema.end() && &schema == &root && defs->is_object())
    for (const auto& [name, definition] : defs->items()) check_subset(definition, where + "/$defs/" + name, problems, root);
  // A node of alternatives (schema::suggested_string) is typed by its alternatives.
  if (auto options = schema.find("anyOf"); options != schema.end()) {
    if (!options->is_array() || options->empty()) problems.push_back(where + ": empty anyOf");
    else
      for (std::size_t i = 0; i < options->size(); ++i)
        check_subset((*options)[i], where + "/anyOf/" + std::to_string(i), problems, root);
    return;
  }
  const auto types = types_of(schema);
  if (types.empty()) problems.push_back(where + ": no type");
  for (const auto& type : types) {
    static const std::set<std::string> known = {"object", "array", "string", "number", "integer", "boolean", "null"};
    if (!known.count(type)) problems.push_back(where + ": unknown type " + type);
  }
  if (has_type(types, "object")) {
    auto properties = schema.find("properties");
    auto required = schema.find("required");
    auto additional = schema.find("additionalProperties");
    if (properties == schema.end() || !properties->is_object()) {
      problems.push_back(where + ": object without properties");
    } else {
      std::set<std::string> names;
      for (const auto& [name, property] : properties->items()) {
        names.insert(name);
        check_subset(property, where + "/properties/" + name, problems, root);
      }
      std::set<std::string> listed;
      if (required == schema.end() || !required->is_array()) {
        problems.push_back(where + ": object without required");
      } else {
        for (const auto& name : *required) {
          if (!name.is_string() || !listed.insert(name.get<std::string>()).second) problems.push_back(where + ": bad required entry");
        }
      }
      if (listed != names) problems.push_back(where + ": required is not exactly the properties");
    }
    if (additional == schema.end() || *additional != false) problems.push_back(where + ": additionalProperties is not false");
  }
  if (has_type(types, "array")) {
    auto items = schema.find("items");
    if (items == schema.end()) {
      problems.push_back(where + ": array without items");
    } else {
      check_subset(*items, where + "/items", problems, root);
    }
    if (schema.contains("minItems") && schema.contains("maxItems") && schema["minItems"] > schema["maxItems"]) {
      problems.push_back(where + ": minItems above maxItems");
    }
  }
  if (auto found = schema.find("enum"); found != schema.end()) {
    if (!found->is_array() || found->empty()) problems.push_back(where + ": empty enum");
  }
  if (schema.contains("minLength") && schema.contains("maxLength") && schema["minLength"] > schema["maxLength"]) {
    problems.push_back(where + ": minLength above maxLength");
  }
  if (auto found = schema.find("pattern"); found != schema.end()) {
    try {
      std::regex compiled(found->get<std::string>(), std::regex::ECMAScript);
    } catch (const std::exception&) {
      problems.push_back(where + ": pattern does not compile");
    }
  }
}

void collect_enums(const nlohmann::json& schema, std::vector<std::vector<std::string>>& out) {
  if (!schema.is_object()) return;
  if (auto found = schema.find("enum"); found != schema.end()) out.push_back(found->get<std::vector<std::string>>());
  if (auto found = schema.find("properties"); found != schema.end()) {
    for (const auto& [name, property] : found->items()) collect_enums(property, out);
  }
  if (auto found = schema.find("items"); found != schema.end()) collect_enums(*found, out);
}

}  // namespace

std::vector<std::string> schema_subset_problems(const nlohmann::json& schema) {
  std::vector<std::string> problems;
  check_subset(schema, "", problems, schema);
  return problems;
}

std::vector<std::vector<std::string>> schema_enums(const nlohmann::json& schema) {
  std::vector<std::vector<std::string>> out;
  collect_enums(schema, out);
  return out;
}

}  // namespace pipeline::testing

#include "tests/support/schema_checks.hpp"

#include <regex>
#include <set>

namespace pipeline::testing {
namespace {

const std::set<std::string>& allowed_keywords() {
  static const std::set<std::string> keywords = {"type",      "properties", "required", "additionalProperties",
                                                 "enum",      "const",      "items",    "minItems",
                                                 "maxItems",  "minLength",  "maxLength", "minimum",
                                                 "maximum",   "pattern",    "description"};
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

void check_subset(const nlohmann::json& schema, const std::string& where, std::vector<std::string>& problems) {
  if (!schema.is_object()) {
    problems.push_back(where + ": a schema node must be an object");
    return;
  }
  for (const auto& [key, value] : schema.items()) {
    if (!allowed_keywords().count(key)) problems.push_back(where + ": keyword \"" + key + "\" is outside the subset");
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
        check_subset(property, where + "/properties/" + name, problems);
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
      check_subset(*items, where + "/items", problems);
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

size_t code_points(const std::string& text) {
  size_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++count;
  }
  return count;
}

bool matches_type(const nlohmann::json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "number") return value.is_number();
  if (type == "integer") return value.is_number_integer() || (value.is_number_float() && value.get<double>() == static_cast<std::int64_t>(value.get<double>()));
  if (type == "boolean") return value.is_boolean();
  if (type == "null") return value.is_null();
  return false;
}

void check_value(const nlohmann::json& schema, const nlohmann::json& value, const std::string& where,
                 std::vector<std::string>& problems) {
  const auto types = types_of(schema);
  bool typed = types.empty();
  for (const auto& type : types) typed = typed || matches_type(value, type);
  if (!typed) {
    problems.push_back(where + ": wrong type " + std::string(value.type_name()));
    return;
  }
  if (auto found = schema.find("enum"); found != schema.end()) {
    bool listed = false;
    for (const auto& option : *found) listed = listed || option == value;
    if (!listed) problems.push_back(where + ": " + value.dump() + " is not in the enum");
  }
  if (auto found = schema.find("const"); found != schema.end() && *found != value) {
    problems.push_back(where + ": " + value.dump() + " is not the const " + found->dump());
  }
  if (value.is_object()) {
    const auto& properties = schema.value("properties", nlohmann::json::object());
    for (const auto& name : schema.value("required", nlohmann::json::array())) {
      if (!value.contains(name.get<std::string>())) problems.push_back(where + ": missing " + name.get<std::string>());
    }
    for (const auto& [name, member] : value.items()) {
      if (properties.contains(name)) {
        check_value(properties[name], member, where + "/" + name, problems);
      } else if (schema.value("additionalProperties", true) == false) {
        problems.push_back(where + ": extra property " + name);
      }
    }
  }
  if (value.is_array()) {
    if (schema.contains("minItems") && value.size() < schema["minItems"].get<size_t>()) problems.push_back(where + ": too few items");
    if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<size_t>()) problems.push_back(where + ": too many items");
    if (schema.contains("items")) {
      for (size_t i = 0; i < value.size(); ++i) check_value(schema["items"], value[i], where + "/" + std::to_string(i), problems);
    }
  }
  if (value.is_string()) {
    const auto text = value.get<std::string>();
    if (schema.contains("minLength") && code_points(text) < schema["minLength"].get<size_t>()) problems.push_back(where + ": too short");
    if (schema.contains("maxLength") && code_points(text) > schema["maxLength"].get<size_t>()) problems.push_back(where + ": too long");
    if (schema.contains("pattern") && !std::regex_search(text, std::regex(schema["pattern"].get<std::string>(), std::regex::ECMAScript))) {
      problems.push_back(where + ": \"" + text + "\" does not match " + schema["pattern"].get<std::string>());
    }
  }
  if (value.is_number()) {
    const double x = value.get<double>();
    if (schema.contains("minimum") && x < schema["minimum"].get<double>()) problems.push_back(where + ": below minimum");
    if (schema.contains("maximum") && x > schema["maximum"].get<double>()) problems.push_back(where + ": above maximum");
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
  check_subset(schema, "", problems);
  return problems;
}

std::vector<std::string> schema_conformance_problems(const nlohmann::json& schema, const nlohmann::json& value) {
  std::vector<std::string> problems;
  check_value(schema, value, "", problems);
  return problems;
}

std::vector<std::vector<std::string>> schema_enums(const nlohmann::json& schema) {
  std::vector<std::vector<std::string>> out;
  collect_enums(schema, out);
  return out;
}

}  // namespace pipeline::testing

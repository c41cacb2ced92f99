#include "stages/schema_builder.hpp"

namespace pipeline::stages::schema {
namespace {

void describe(nlohmann::json& schema, std::string_view description) {
  if (!description.empty()) schema["description"] = std::string(description);
}

}  // namespace

nlohmann::json object(std::initializer_list<Property> properties, std::string_view description) {
  nlohmann::json schema = {{"type", "object"}, {"additionalProperties", false}};
  schema["properties"] = nlohmann::json::object();
  schema["required"] = nlohmann::json::array();
  for (const auto& [name, property] : properties) {
    schema["properties"][name] = property;
    schema["required"].push_back(name);
  }
  describe(schema, description);
  return schema;
}

nlohmann::json string(std::string_view description, std::optional<int> max_length) {
  nlohmann::json schema = {{"type", "string"}, {"minLength", 1}};
  if (max_length) schema["maxLength"] = *max_length;
  describe(schema, description);
  return schema;
}

nlohmann::json nullable_string(std::string_view description) {
  nlohmann::json schema = {{"type", nlohmann::json::array({"string", "null"})}};
  describe(schema, description);
  return schema;
}

nlohmann::json pattern_string(std::string_view description, std::string_view pattern, int max_length) {
  nlohmann::json schema = {{"type", "string"}, {"pattern", std::string(pattern)}, {"minLength", 1}, {"maxLength", max_length}};
  describe(schema, description);
  return schema;
}

nlohmann::json enumeration(const std::vector<std::string>& values, std::string_view description) {
  nlohmann::json schema = {{"type", "string"}, {"enum", values}};
  describe(schema, description);
  return schema;
}

nlohmann::json constant(std::string_view value, std::string_view description) {
  nlohmann::json schema = {{"type", "string"}, {"const", std::string(value)}};
  describe(schema, description);
  return schema;
}

nlohmann::json number(std::string_view description, std::optional<double> minimum, std::optional<double> maximum) {
  nlohmann::json schema = {{"type", "number"}};
  if (minimum) schema["minimum"] = *minimum;
  if (maximum) schema["maximum"] = *maximum;
  describe(schema, description);
  return schema;
}

nlohmann::json integer(std::string_view description, std::optional<int> minimum, std::optional<int> maximum) {
  nlohmann::json schema = {{"type", "integer"}};
  if (minimum) schema["minimum"] = *minimum;
  if (maximum) schema["maximum"] = *maximum;
  describe(schema, description);
  return schema;
}

nlohmann::json boolean(std::string_view description) {
  nlohmann::json schema = {{"type", "boolean"}};
  describe(schema, description);
  return schema;
}

nlohmann::json suggested_string(const std::vector<std::string>& values, std::string_view description) {
  nlohmann::json schema = {{"anyOf", nlohmann::json::array({{{"type", "string"}, {"enum", values}}, {{"type", "string"}}})}};
  describe(schema, description);
  return schema;
}

nlohmann::json array(nlohmann::json items, int min_items, int max_items, std::string_view description) {
  nlohmann::json schema = {{"type", "array"}, {"items", std::move(items)}, {"minItems", min_items}, {"maxItems", max_items}};
  describe(schema, description);
  return schema;
}

}  // namespace pipeline::stages::schema

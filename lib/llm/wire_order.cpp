#include "lib/llm/wire_order.hpp"

#include <set>
#include <string>

namespace pipeline::llm {

nlohmann::ordered_json in_authored_order(const nlohmann::json& schema) {
  if (schema.is_array()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& item : schema) out.push_back(in_authored_order(item));
    return out;
  }
  if (!schema.is_object()) return nlohmann::ordered_json(schema);
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  const auto properties = schema.find("properties");
  const auto required = schema.find("required");
  for (const auto& [key, value] : schema.items()) {
    if (key != "properties" || !value.is_object()) {
      out[key] = in_authored_order(value);
      continue;
    }
    nlohmann::ordered_json laid_out = nlohmann::ordered_json::object();
    std::set<std::string> placed;
    if (required != schema.end() && required->is_array()) {
      for (const auto& name : *required) {
        if (!name.is_string() || !properties->contains(name.get<std::string>())) continue;
        if (!placed.insert(name.get<std::string>()).second) continue;
        laid_out[name.get<std::string>()] = in_authored_order(properties->at(name.get<std::string>()));
      }
    }
    for (const auto& [name, member] : properties->items())
      if (placed.count(name) == 0) laid_out[name] = in_authored_order(member);
    out[key] = std::move(laid_out);
  }
  return out;
}

}  // namespace pipeline::llm

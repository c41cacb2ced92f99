#include <doctest/doctest.h>

#include "lib/llm/wire_order.hpp"

using namespace pipeline::llm;
using nlohmann::json;

namespace {

std::vector<std::string> member_names(const nlohmann::ordered_json& object) {
  std::vector<std::string> names;
  for (const auto& [name, value] : object.items()) names.push_back(name);
  return names;
}

}  // namespace

TEST_CASE("properties go on the wire in the order their required array lists them, at every depth") {
  const json schema = {
      {"type", "object"},
      {"properties",
       {{"zeta_conclusion", {{"type", "string"}}},
        {"alpha_evidence",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"properties", {{"score", {{"type", "integer"}}}, {"reason", {{"type", "string"}}}}},
            {"required", {"reason", "score"}}}}}},
        {"middle", {{"type", "string"}}}}},
      {"required", {"alpha_evidence", "middle", "zeta_conclusion"}}};
  // nlohmann::json itself keeps them alphabetical; reversed requirements show the difference.
  json reversed = schema;
  reversed["required"] = {"zeta_conclusion", "middle", "alpha_evidence"};
  const auto wire = in_authored_order(reversed);
  CHECK(member_names(wire["properties"]) == std::vector<std::string>{"zeta_conclusion", "middle", "alpha_evidence"});
  CHECK(member_names(wire["properties"]["alpha_evidence"]["items"]["properties"]) ==
        std::vector<std::string>{"reason", "score"});
  // The text on the wire says it in that order too.
  const std::string text = wire.dump();
  CHECK(text.find("\"reason\"") < text.find("\"score\""));
  CHECK(text.find("\"zeta_conclusion\"") < text.find("\"alpha_evidence\""));
  // Nothing but the order changes.
  CHECK(json::parse(text) == reversed);
}

TEST_CASE("properties that required does not list follow in alphabetical order; non-objects pass through") {
  const json schema = {{"type", "object"},
                       {"properties", {{"b", {{"type", "string"}}}, {"a", {{"type", "string"}}}, {"c", {{"type", "string"}}}}},
                       {"required", {"c"}}};
  CHECK(member_names(in_authored_order(schema)["properties"]) == std::vector<std::string>{"c", "a", "b"});
  CHECK(in_authored_order(json(3)) == 3);
  CHECK(in_authored_order(json::array({1, "x"})).dump() == "[1,\"x\"]");
}

#include <doctest/doctest.h>

#include "stages/schema_builder.hpp"
#include "tests/support/schema_checks.hpp"

namespace schema = pipeline::stages::schema;

TEST_CASE("objects require every property and forbid others") {
  const auto object = schema::object({{"b", schema::string("B")}, {"a", schema::integer("A", 0, 9)}}, "Both");
  CHECK(object["type"] == "object");
  CHECK(object["additionalProperties"] == false);
  CHECK(object["required"] == nlohmann::json({"b", "a"}));
  CHECK(object["description"] == "Both");
  CHECK(pipeline::testing::schema_subset_problems(object).empty());
  CHECK(schema::object({})["required"].empty());
}

TEST_CASE("leaf constructors use only the subset's keywords") {
  CHECK(schema::string("S", 20) == nlohmann::json({{"type", "string"}, {"minLength", 1}, {"maxLength", 20}, {"description", "S"}}));
  CHECK(schema::nullable_string("N")["type"] == nlohmann::json({"string", "null"}));
  CHECK(schema::pattern_string("P", "^a+$", 5)["pattern"] == "^a+$");
  CHECK(schema::enumeration({"x", "y"}, "E")["enum"] == nlohmann::json({"x", "y"}));
  CHECK(schema::constant("k", "C")["const"] == "k");
  const auto number = schema::number("N", 0.0, 100.0);
  CHECK(number["type"] == "number");
  CHECK(number["minimum"] == 0);
  CHECK(number["maximum"] == 100);
  CHECK_FALSE(schema::number("N", std::nullopt).contains("minimum"));
  const auto array = schema::array(schema::string("item"), 3, 3);
  CHECK(array["minItems"] == 3);
  CHECK(array["maxItems"] == 3);
  CHECK_FALSE(array.contains("description"));
  for (const auto& node : {schema::string("S"), schema::nullable_string("N"), schema::pattern_string("P", "^a$", 3),
                           schema::enumeration({"x"}, "E"), schema::constant("k", "C"), number, array,
                           schema::integer("I", 1, 5)}) {
    CHECK(pipeline::testing::schema_subset_problems(node).empty());
  }
}

TEST_CASE("a boolean is typed and described") {
  CHECK(schema::boolean("B") == nlohmann::json({{"type", "boolean"}, {"description", "B"}}));
}

TEST_CASE("a suggested string offers its values first and accepts any string, with no style rule inside") {
  const auto suggested = schema::suggested_string({"Acme Morning Rolls", "Acme Protein Bars"}, "A line");
  CHECK(pipeline::testing::schema_subset_problems(suggested).empty());
  REQUIRE(suggested["anyOf"].size() == 2);
  CHECK(suggested["anyOf"][0]["enum"] == nlohmann::json({"Acme Morning Rolls", "Acme Protein Bars"}));
  CHECK(suggested["anyOf"][1] == nlohmann::json({{"type", "string"}}));
  CHECK(suggested["description"] == "A line");
}

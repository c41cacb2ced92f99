#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

// Small constructors for the stages' output schemas. They only use the
// keyword subset that the in-process validator, OpenAI strict mode and the
// fake server share, and every object they make lists all of its properties
// as required and forbids others, so strictness holds by construction.
namespace pipeline::stages::schema {

using Property = std::pair<std::string, nlohmann::json>;

// A closed object: every property required, additionalProperties false.
nlohmann::json object(std::initializer_list<Property> properties, std::string_view description = {});

// A non-empty string, optionally bounded in length.
nlohmann::json string(std::string_view description, std::optional<int> max_length = std::nullopt);

// A string or null (for facts the document may not give).
nlohmann::json nullable_string(std::string_view description);

// A string matching `pattern` (ECMAScript syntax, anchored by the caller).
nlohmann::json pattern_string(std::string_view description, std::string_view pattern, int max_length);

// One of `values`.
nlohmann::json enumeration(const std::vector<std::string>& values, std::string_view description);

// Exactly `value`.
nlohmann::json constant(std::string_view value, std::string_view description);

// A number (or an integer) within [minimum, maximum] when they are given.
nlohmann::json number(std::string_view description, std::optional<double> minimum, std::optional<double> maximum = std::nullopt);
nlohmann::json integer(std::string_view description, std::optional<int> minimum, std::optional<int> maximum = std::nullopt);

// true or false.
nlohmann::json boolean(std::string_view description);

// `schema`, or any other string: the model is shown the values it should
// pick from, and may still word one its own way (which a check then judges,
// so a near miss is a warning, not a failed call). The free branch carries no
// length rule: a style rule inside anyOf would break the contract.
nlohmann::json suggested_string(const std::vector<std::string>& values, std::string_view description);

// An array of `items` with between min_items and max_items elements.
nlohmann::json array(nlohmann::json items, int min_items, int max_items, std::string_view description = {});

}  // namespace pipeline::stages::schema

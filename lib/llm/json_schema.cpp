#include "lib/llm/json_schema.hpp"
#include "lib/util/json_text.hpp"

#include <algorithm>
#include <cmath>
#include <regex>

namespace pipeline::llm {
namespace {

// The longest string matched against a pattern (see check_string).
constexpr std::size_t k_max_pattern_input = 4096;

bool has_type(const nlohmann::json& value, const std::string& type) {
  if (type == "null") return value.is_null();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "number") return value.is_number();
  if (type == "integer") {
    if (value.is_number_integer()) return true;
    if (!value.is_number_float()) return false;
    const double number = value.get<double>();
    return std::isfinite(number) && std::floor(number) == number;
  }
  return true;  // an unknown type name constrains nothing
}

std::size_t code_points(const std::string& text) {
  std::size_t count = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80) ++count;
  return count;
}

// At most 60 bytes of `value`'s JSON text; a longer text is cut before a
// character (never inside a UTF-8 sequence) and ends in "...".
std::string short_dump(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() <= 60) return text;
  std::size_t cut = 57;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

// A "$ref" deeper than this is taken for a loop and reported.
constexpr int k_most_ref_depth = 32;

class Validator {
 public:
  std::vector<Violation> errors;

  explicit Validator(const nlohmann::json& root, int ref_depth = 0) : m_root(root), m_ref_depth(ref_depth) {}

  void check(const nlohmann::json& schema, const nlohmann::json& value, const std::string& path) {
    if (!schema.is_object()) return;
    if (auto ref = schema.find("$ref"); ref != schema.end()) {
      check_ref(*ref, value, path);
      return;
    }
    if (auto it = schema.find("type"); it != schema.end() && !check_type(*it, value, path)) return;
    if (auto it = schema.find("const"); it != schema.end() && *it != value)
      report(path, "must be " + short_dump(*it));
    if (auto it = schema.find("enum"); it != schema.end() && it->is_array()) {
      if (std::find(it->begin(), it->end(), value) == it->end())
        report(path, short_dump(value) + " is not one of " + short_dump(*it));
    }
    if (auto it = schema.find("anyOf"); it != schema.end() && it->is_array()) check_any_of(*it, value, path);
    if (value.is_object()) check_object(schema, value, path);
    if (value.is_array()) check_array(schema, value, path);
    if (value.is_string()) check_string(schema, value.get<std::string>(), path);
    if (value.is_number()) check_number(schema, value, path);
  }

 private:
  const nlohmann::json& m_root;
  int m_ref_depth;

  // A local reference, "#/$defs/<name>", checked as the definition it names;
  // any other reference is a broken schema, reported as a contract violation.
  void check_ref(const nlohmann::json& ref, const nlohmann::json& value, const std::string& path) {
    const std::string prefix = "#/$defs/";
    const std::string target = ref.is_string() ? ref.get<std::string>() : std::string();
    const auto defs = m_root.find("$defs");
    if (target.rfind(prefix, 0) != 0 || defs == m_root.end() || !defs->is_object() ||
        !defs->contains(target.substr(prefix.size()))) {
      report(path, "the schema's $ref " + util::dump_json(ref) + " names no definition in $defs");
      return;
    }
    if (m_ref_depth >= k_most_ref_depth) {
      report(path, "the schema's $ref " + util::dump_json(ref) + " nests more than " + std::to_string(k_most_ref_depth) + " deep");
      return;
    }
    ++m_ref_depth;
    check(defs->at(target.substr(prefix.size())), value, path);
    --m_ref_depth;
  }

  void report(const std::string& path, const std::string& message, bool style = false) {
    errors.push_back({path + ": " + message, style});
  }

  bool check_type(const nlohmann::json& type, const nlohmann::json& value, const std::string& path) {
    if (type.is_string()) {
      if (has_type(value, type.get<std::string>())) return true;
      report(path, "expected " + type.get<std::string>() + ", got " + short_dump(value));
      return false;
    }
    if (!type.is_array()) return true;
    for (const auto& name : type)
      if (name.is_string() && has_type(value, name.get<std::string>())) return true;
    report(path, "expected one of " + util::dump_json(type) + ", got " + short_dump(value));
    return false;
  }

  void check_any_of(const nlohmann::json& options, const nlohmann::json& value, const std::string& path) {
    for (const auto& option : options) {
      Validator inner(m_root, m_ref_depth);
      inner.check(option, value, path);
      if (inner.errors.empty()) return;
    }
    report(path, "matches none of the anyOf alternatives");
  }

  void check_object(const nlohmann::json& schema, const nlohmann::json& value, const std::string& path) {
    const auto properties = schema.find("properties");
    const bool has_properties = properties != schema.end() && properties->is_object();
    if (auto required = schema.find("required"); required != schema.end() && required->is_array()) {
      for (const auto& name : *required)
        if (name.is_string() && !value.contains(name.get<std::string>()))
          report(path, "missing required property \"" + name.get<std::string>() + "\"");
    }
    const auto additional = schema.find("additionalProperties");
    const bool closed = additional != schema.end() && additional->is_boolean() && !additional->get<bool>();
    for (const auto& [name, member] : value.items()) {
      const std::string member_path = path + "." + name;
      if (has_properties && properties->contains(name)) {
        check((*properties)[name], member, member_path);
      } else if (closed) {
        report(path, "property \"" + name + "\" is not allowed");
      } else if (additional != schema.end() && additional->is_object()) {
        check(*additional, member, member_path);
      }
    }
  }

  void check_array(const nlohmann::json& schema, const nlohmann::json& value, const std::string& path) {
    const auto size = value.size();
    if (auto it = schema.find("minItems"); it != schema.end() && it->is_number() && size < it->get<std::size_t>())
      report(path, "has " + std::to_string(size) + " items, fewer than minItems " + it->dump());
    if (auto it = schema.find("maxItems"); it != schema.end() && it->is_number() && size > it->get<std::size_t>())
      report(path, "has " + std::to_string(size) + " items, more than maxItems " + it->dump());
    if (auto items = schema.find("items"); items != schema.end() && items->is_object()) {
      for (std::size_t i = 0; i < size; ++i) check(*items, value[i], path + "[" + std::to_string(i) + "]");
    }
  }

  void check_string(const nlohmann::json& schema, const std::string& text, const std::string& path) {
    const auto length = code_points(text);
    if (auto it = schema.find("minLength"); it != schema.end() && it->is_number() && length < it->get<std::size_t>())
      report(path, "is " + std::to_string(length) + " characters long, shorter than minLength " + it->dump(), true);
    if (auto it = schema.find("maxLength"); it != schema.end() && it->is_number() && length > it->get<std::size_t>()) {
      report(path, "is " + std::to_string(length) + " characters long, longer than maxLength " + it->dump(), true);
      return;
    }
    // libstdc++'s regex recurses once per character: a long enough model
    // answer would overflow the stack, so such a string is refused unread.
    if (text.size() > k_max_pattern_input && schema.contains("pattern")) {
      report(path,
             "is " + std::to_string(length) + " characters long, too long to check against the pattern " +
                 util::dump_json(schema.at("pattern")),
             true);
      return;
    }
    if (auto it = schema.find("pattern"); it != schema.end() && it->is_string()) {
      try {
        if (!std::regex_search(text, std::regex(it->get<std::string>(), std::regex::ECMAScript)))
          report(path, short_dump(text) + " does not match the pattern " + it->dump(), true);
      } catch (const std::regex_error&) {
        report(path, "the schema's pattern " + it->dump() + " is not a valid regular expression");
      }
    }
  }

  void check_number(const nlohmann::json& schema, const nlohmann::json& value, const std::string& path) {
    const double number = value.get<double>();
    if (auto it = schema.find("minimum"); it != schema.end() && it->is_number() && number < it->get<double>())
      report(path, short_dump(value) + " is less than the minimum " + it->dump());
    if (auto it = schema.find("maximum"); it != schema.end() && it->is_number() && number > it->get<double>())
      report(path, short_dump(value) + " is more than the maximum " + it->dump());
  }
};

}  // namespace

std::vector<Violation> find_violations(const nlohmann::json& schema, const nlohmann::json& document) {
  Validator validator(schema);
  validator.check(schema, document, "$");
  return std::move(validator.errors);
}

std::vector<std::string> validate_json(const nlohmann::json& schema, const nlohmann::json& document) {
  std::vector<std::string> messages;
  for (auto& violation : find_violations(schema, document)) messages.push_back(std::move(violation.message));
  return messages;
}

std::vector<std::string> contract_violations(const nlohmann::json& schema, const nlohmann::json& document) {
  std::vector<std::string> messages;
  for (auto& violation : find_violations(schema, document))
    if (!violation.style) messages.push_back(std::move(violation.message));
  return messages;
}

}  // namespace pipeline::llm

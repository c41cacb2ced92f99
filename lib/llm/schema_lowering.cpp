#include "lib/llm/schema_lowering.hpp"
#include "lib/util/json_text.hpp"

#include <algorithm>
#include <functional>
#include <set>

namespace pipeline::llm {
namespace {

// Keywords that hold subschemas, walked into.
const std::set<std::string>& nesting_keywords() {
  static const std::set<std::string> keywords = {"properties", "items", "anyOf", "$defs", "additionalProperties"};
  return keywords;
}

// What the non-strict rung keeps: the structure, never a bound.
const std::set<std::string>& structural_keywords() {
  static const std::set<std::string> keywords = {"type",  "properties", "required", "additionalProperties", "enum",
                                                 "const", "items",      "anyOf",    "$defs",  "$ref",  "description",
                                                 "title", "nullable"};
  return keywords;
}

std::string number_text(const nlohmann::json& value) {
  if (value.is_number_float()) {
    const double number = value.get<double>();
    if (number == static_cast<double>(static_cast<long long>(number))) return std::to_string(static_cast<long long>(number));
  }
  return util::dump_json(value);
}

using Keep = std::function<bool(const std::string& keyword)>;

nlohmann::json lower_node(const nlohmann::json& schema, const ProviderProfile& profile, const Keep& keep) {
  if (!schema.is_object()) return schema;
  nlohmann::json out = nlohmann::json::object();
  std::vector<std::string> rules;
  for (const auto& [keyword, value] : schema.items()) {
    if (keyword == "description" || keep(keyword)) continue;
    // A bound that constrains nothing needs no words, and an upper bound equal
    // to the lower one was said with it ("exactly 3 items").
    if (keyword == "minItems" && value == 0) continue;
    const char* lower_bound = keyword == "maxItems" ? "minItems" : keyword == "maxLength" ? "minLength" : nullptr;
    if (lower_bound && !keep(lower_bound) && schema.value(lower_bound, nlohmann::json()) == value) continue;
    rules.push_back(describe_rule(keyword, value, schema));
  }
  // Lower bounds before upper ones read naturally: "at least 1; at most 5".
  auto rank = [](const std::string& rule) {
    if (rule.rfind("at least", 0) == 0 || rule == "not empty") return 0;
    return rule.rfind("at most", 0) == 0 ? 1 : 2;
  };
  std::stable_sort(rules.begin(), rules.end(),
                   [&rank](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  for (const auto& [keyword, value] : schema.items()) {
    if (keyword == "description" || !keep(keyword)) continue;
    if (keyword == "properties" || keyword == "$defs") {
      nlohmann::json members = nlohmann::json::object();
      for (const auto& [name, member] : value.items()) members[name] = lower_node(member, profile, keep);
      out[keyword] = std::move(members);
    } else if (keyword == "anyOf") {
      nlohmann::json options = nlohmann::json::array();
      for (const auto& option : value) options.push_back(lower_node(option, profile, keep));
      out[keyword] = std::move(options);
    } else if (nesting_keywords().count(keyword) && value.is_object()) {
      out[keyword] = lower_node(value, profile, keep);
    } else if (keyword == "pattern" && profile.grammar_patterns && value.is_string()) {
      // A pattern the grammar converter would copy wrongly is said in words instead.
      if (auto safe = grammar_safe_pattern(value.get<std::string>())) {
        out[keyword] = *safe;
      } else {
        rules.push_back(describe_rule(keyword, value, schema));
      }
    } else {
      out[keyword] = value;
    }
  }
  if (profile.no_additional_properties) out.erase("additionalProperties");
  if (profile.no_const && out.contains("const")) {
    out["enum"] = nlohmann::json::array({out["const"]});
    out.erase("const");
  }
  if (auto type = out.find("type"); type != out.end() && type->is_array()) {
    std::vector<nlohmann::json> named;
    bool nullable = false;
    for (const auto& name : *type) {
      if (name == "null") {
        nullable = true;
      } else {
        named.push_back(name);
      }
    }
    if (nullable && named.size() == 1 && (profile.nullable_as_any_of || profile.no_type_arrays)) {
      if (profile.nullable_as_any_of) {
        nlohmann::json typed = out;
        typed["type"] = named.front();
        typed.erase("description");
        out = {{"anyOf", nlohmann::json::array({typed, {{"type", "null"}}})}};
      } else {
        out["type"] = named.front();
        out["nullable"] = true;
      }
    }
  }
  // anyOf [X, null] to an OpenAPI-style provider: X marked nullable.
  if (auto options = out.find("anyOf"); profile.no_type_arrays && options != out.end() && options->is_array() &&
                                        options->size() == 2) {
    const nlohmann::json null_type = {{"type", "null"}};
    const int other = (*options)[0] == null_type ? 1 : (*options)[1] == null_type ? 0 : -1;
    if (other >= 0 && (*options)[other].is_object() && !(*options)[other].contains("$ref")) {
      nlohmann::json merged = (*options)[other];
      merged["nullable"] = true;
      for (const auto& [keyword, value] : out.items())
        if (keyword != "anyOf") merged[keyword] = value;
      out = std::move(merged);
    }
  }
  std::string description = schema.value("description", std::string());
  if (!rules.empty()) {
    std::string text;
    for (const auto& rule : rules) text += (text.empty() ? "" : "; ") + rule;
    description += std::string(description.empty() ? "" : ". ") + "Rules: " + text + ".";
  }
  if (!description.empty()) out["description"] = description;
  return out;
}

constexpr int k_most_inlined_depth = 32;

nlohmann::json inline_node(const nlohmann::json& node, const nlohmann::json& defs, int depth) {
  if (node.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : node) out.push_back(inline_node(item, defs, depth));
    return out;
  }
  if (!node.is_object()) return node;
  if (auto ref = node.find("$ref"); ref != node.end() && ref->is_string() && depth < k_most_inlined_depth) {
    const std::string prefix = "#/$defs/";
    const std::string target = ref->get<std::string>();
    if (target.rfind(prefix, 0) == 0 && defs.contains(target.substr(prefix.size())))
      return inline_node(defs.at(target.substr(prefix.size())), defs, depth + 1);
  }
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [keyword, value] : node.items()) {
    // Names under "properties" are not keywords: only their values are walked.
    if (keyword == "properties" && value.is_object()) {
      nlohmann::json members = nlohmann::json::object();
      for (const auto& [name, member] : value.items()) members[name] = inline_node(member, defs, depth);
      out[keyword] = std::move(members);
    } else if (keyword == "enum" || keyword == "const" || keyword == "required") {
      out[keyword] = value;
    } else {
      out[keyword] = inline_node(value, defs, depth);
    }
  }
  return out;
}

// "1 item", "3 items".
std::string counted(const nlohmann::json& value, const std::string& noun) {
  return number_text(value) + " " + noun + (value == 1 ? "" : "s");
}

}  // namespace

std::string describe_rule(const std::string& keyword, const nlohmann::json& value, const nlohmann::json& schema) {
  if (keyword == "minLength" || keyword == "maxLength") {
    const auto other = schema.find(keyword == "minLength" ? "maxLength" : "minLength");
    if (other != schema.end() && *other == value) return "exactly " + counted(value, "character");
    if (keyword == "minLength") return value == 1 ? "not empty" : "at least " + counted(value, "character");
    return "at most " + counted(value, "character");
  }
  if (keyword == "pattern") return "matching the pattern `" + value.get<std::string>() + "`";
  if (keyword == "minimum") return "at least " + number_text(value);
  if (keyword == "maximum") return "at most " + number_text(value);
  if (keyword == "exclusiveMinimum") return "more than " + number_text(value);
  if (keyword == "exclusiveMaximum") return "less than " + number_text(value);
  if (keyword == "multipleOf") return "a multiple of " + number_text(value);
  if (keyword == "minItems" || keyword == "maxItems") {
    const auto other = schema.find(keyword == "minItems" ? "maxItems" : "minItems");
    if (other != schema.end() && *other == value) return "exactly " + counted(value, "item");
    return (keyword == "minItems" ? "at least " : "at most ") + counted(value, "item");
  }
  if (keyword == "uniqueItems") return "no item twice";
  if (keyword == "format") return "in the format " + util::dump_json(value);
  return "`" + keyword + "` " + util::dump_json(value);
}

nlohmann::json inline_refs(const nlohmann::json& schema) {
  if (!schema.is_object() || !schema.contains("$defs")) return schema;
  const nlohmann::json defs = schema.at("$defs");
  nlohmann::json out = schema;
  out.erase("$defs");
  return inline_node(out, defs.is_object() ? defs : nlohmann::json::object(), 0);
}

nlohmann::json lower_schema(const nlohmann::json& schema, const ProviderProfile& profile) {
  const auto& refused = profile.refused_keywords;
  return lower_node(profile.refs ? schema : inline_refs(schema), profile, [&refused](const std::string& keyword) {
    return std::find(refused.begin(), refused.end(), keyword) == refused.end();
  });
}

std::optional<std::string> grammar_safe_pattern(const std::string& pattern) {
  // Characters a JSON string may hold unescaped, less the space: what \S and . may match.
  static const std::string k_not_space = "[^ \"\\\\]";
  static const std::string k_any = "[^\"\\\\]";
  static const std::string k_literal_escapes = "\\.()[]{}+*?^$|/-";
  std::string out;
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      if (i + 1 >= pattern.size()) return std::nullopt;
      const char next = pattern[++i];
      if (!in_class && next == 'S') {
        out += k_not_space;
      } else if (!in_class && next == 's') {
        out += "[ ]";
      } else if (k_literal_escapes.find(next) != std::string::npos) {
        out += '\\';
        out += next;
      } else {
        return std::nullopt;
      }
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out += c;
    } else if (c == '[') {
      in_class = true;
      out += c;
    } else if (c == '.') {
      out += k_any;
    } else {
      out += c;
    }
  }
  if (in_class) return std::nullopt;
  return out;
}

nlohmann::json structural_schema(const nlohmann::json& schema, const ProviderProfile& profile) {
  return lower_node(profile.refs ? schema : inline_refs(schema), profile, [](const std::string& keyword) { return structural_keywords().count(keyword) > 0; });
}

}  // namespace pipeline::llm

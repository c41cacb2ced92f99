// Deterministic JSON documents that satisfy a JSON schema, for the fake server.

#include <algorithm>
#include <cctype>
#include <array>
#include <cmath>
#include <regex>
#include <set>
#include <string>
#include <string_view>

#include "tests/fake_server/fake_llm_server.hpp"
#include "lib/util/content_words.hpp"
#include "stages/vague_words.hpp"
#include "tests/fake_server/pattern_example.hpp"

namespace pipeline::testing {
namespace {

// The fake's own vocabulary: food, packs, shops, shoppers, occasions, work and
// places, some four hundred words, none of them hype, cold-chain or
// direct-selling words that the stages' checks ask again. A model writes
// from a vocabulary this wide, so two unrelated sentences of one run rarely
// share more than a word (a pool of 40 made one run in ten repeat itself by
// stages/card_distinctness.hpp's measure).
constexpr std::array k_words = {
    "fresh", "refill", "club", "oat", "snack", "ritual", "morning", "pantry", "local", "harvest", "bright", "simple",
    "shared", "weekly", "kitchen", "garden", "crunchy", "bold", "gentle", "market", "season", "family", "smart",
    "pocket", "plant", "protein", "zero", "waste", "daily", "bundle", "circle", "craft", "trial", "pack", "flavour",
    "origin", "light", "shelf", "almond", "apple", "apricot", "barley", "basil", "bean", "beetroot", "berry",
    "biscuit", "bran", "bread", "brioche", "broth", "buckwheat", "butter", "cabbage", "cacao", "caramel", "carrot",
    "cashew", "cereal", "cheddar", "cherry", "chickpea", "chilli", "chive", "cinnamon", "citrus", "clove", "cocoa",
    "coconut", "coffee", "cracker", "cranberry", "cumin", "currant", "date", "dough", "fennel", "fig", "flax",
    "garlic", "ginger", "grain", "granola", "grape", "hazelnut", "herb", "honey", "hummus", "jam", "kale", "lemon",
    "lentil", "lime", "malt", "mango", "maple", "millet", "mint", "miso", "mustard", "noodle", "nutmeg", "olive",
    "onion", "orange", "oregano", "paprika", "parsley", "pasta", "peach", "peanut", "pear", "pea", "pecan", "pepper",
    "pickle", "pistachio", "plum", "porridge", "potato", "pretzel", "pumpkin", "quinoa", "raisin", "rhubarb", "rice",
    "rosemary", "rye", "saffron", "salsa", "sesame", "sorghum", "soup", "spelt", "spinach", "sultana", "sunflower",
    "syrup", "tahini", "tea", "thyme", "tomato", "turmeric", "vanilla", "vinegar", "walnut", "wheat", "yeast",
    "yoghurt", "bag", "bottle", "carton", "crate", "jar", "lid", "pouch", "sachet", "tin", "tray", "tub", "wrapper",
    "label", "seal", "cap", "sleeve", "stick", "bar", "bite", "slice", "loaf", "portion", "aisle", "basket",
    "checkout", "counter", "display", "endcap", "facing", "fixture", "gondola", "kiosk", "planogram", "trolley",
    "window", "warehouse", "depot", "batch", "blend", "bake", "boil", "brew", "churn", "cure", "dry", "ferment",
    "fill", "grind", "knead", "mill", "mix", "pour", "press", "proof", "roast", "rinse", "sift", "simmer", "soak",
    "steam", "stir", "toast", "whisk", "buyer", "category", "retailer", "grocer", "supermarket", "wholesaler",
    "distributor", "forecourt", "canteen", "cafe", "deli", "bakery", "butcher", "pharmacy", "station", "airport",
    "campus", "office", "gym", "commuter", "parent", "student", "runner", "walker", "cyclist", "pensioner", "toddler",
    "teenager", "household", "couple", "neighbour", "guest", "colleague", "traveller", "shopper", "breakfast",
    "brunch", "lunch", "dinner", "supper", "picnic", "lunchbox", "teatime", "weekend", "holiday", "festival",
    "birthday", "evening", "afternoon", "commute", "school", "audit", "briefing", "budget", "calendar", "chart",
    "contract", "cost", "dashboard", "deadline", "forecast", "invoice", "ledger", "margin", "metric", "pilot",
    "quota", "rebate", "report", "sample", "schedule", "survey", "tender", "volume", "cooler", "drawer", "oven",
    "kettle", "hob", "grill", "microwave", "toaster", "blender", "spoon", "fork", "plate", "bowl", "mug", "cup",
    "napkin", "amber", "copper", "golden", "green", "crimson", "ivory", "silver", "slate", "violet", "hazel",
    "coarse", "creamy", "crisp", "dense", "fluffy", "grainy", "juicy", "mellow", "nutty", "rich", "salty", "savoury",
    "smoky", "smooth", "soft", "spicy", "sweet", "tangy", "tart", "zesty", "compact", "tall", "slim", "square",
    "round", "flat", "deep", "narrow", "wide", "heavy", "recipe", "ingredient", "nutrient", "fibre", "sugar", "salt",
    "fat", "calorie", "vitamin", "mineral", "allergen", "gluten", "dairy", "vegan", "organic", "supplier", "farm",
    "orchard", "line", "shift", "crew", "operator", "engineer", "chemist", "taster", "panel", "lab", "launch",
    "listing", "promotion", "rollout", "sampling", "tasting", "coupon", "voucher", "leaflet", "poster", "banner",
    "flyer", "north", "south", "coast", "valley", "harbour", "highland", "meadow", "river", "island", "village",
    "town", "city"};

// Strings tried, in order, when a schema asks for a pattern.
constexpr std::array k_pattern_candidates = {
    "Fresh refill club", "fresh-refill-club", "Fresh", "fresh", "FRC", "A", "a", "1", "42", "2026",
    "2026-01-01", "12:00", "abc123", "SKU-1234", "AB-12", "EUR", "USD", "high", "medium", "low", "yes", "no",
    "v1", "hello@example.com", "https://example.com", "+1 555 0100", "Fresh refill club.", "x"};

std::uint64_t mix(std::uint64_t value) {
  value += 0x9E3779B97F4A7C15ULL;
  value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ULL;
  value = (value ^ (value >> 27)) * 0x94D049BB133111EBULL;
  return value ^ (value >> 31);
}

std::uint64_t mix(std::uint64_t seed, const std::string& salt) {
  std::uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : salt) hash = (hash ^ c) * 1099511628211ULL;
  return mix(seed ^ hash);
}

std::optional<std::int64_t> integer_at(const nlohmann::json& schema, const char* key) {
  auto it = schema.find(key);
  if (it == schema.end() || !it->is_number()) return std::nullopt;
  return static_cast<std::int64_t>(std::llround(it->get<double>()));
}

std::string chosen_type(const nlohmann::json& schema) {
  auto type = schema.find("type");
  if (type != schema.end() && type->is_string()) return type->get<std::string>();
  if (type != schema.end() && type->is_array()) {
    for (const auto& name : *type)
      if (name.is_string() && name != "null") return name.get<std::string>();
    return "null";
  }
  if (schema.contains("properties")) return "object";
  if (schema.contains("items")) return "array";
  return "string";
}

// Words the schema suggests (the brand's product lines and customers, see
// stages/brand_facts.hpp): free text takes about one word in five from
// them, like a model that leans on the brand it was given, so that two
// brands' answers differ in their words and not only in their anchors.
using SuggestedWords = std::vector<std::string>;

std::string words(std::uint64_t seed, int count, const SuggestedWords& suggested) {
  std::string text;
  for (int i = 0; i < count; ++i) {
    seed = mix(seed);
    if (i > 0) text += ' ';
    if (!suggested.empty() && (seed >> 40) % 5 == 0) text += suggested[(seed >> 20) % suggested.size()];
    else text += k_words[seed % k_words.size()];
  }
  if (!text.empty()) text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  return text;
}

bool length_fits(const std::string& text, std::int64_t min_length, std::int64_t max_length) {
  const auto length = static_cast<std::int64_t>(text.size());
  return length >= min_length && length <= max_length;
}

std::string make_string(const nlohmann::json& schema, std::uint64_t seed, const SuggestedWords& suggested) {
  const std::int64_t min_length = integer_at(schema, "minLength").value_or(0);
  const std::int64_t max_length = integer_at(schema, "maxLength").value_or(1 << 20);
  std::string text = words(seed, 3 + static_cast<int>(seed % 5), suggested);
  while (static_cast<std::int64_t>(text.size()) < min_length) text += " " + words(mix(seed + text.size()), 4, suggested);
  if (static_cast<std::int64_t>(text.size()) > max_length) {
    const bool cuts_a_word = text[static_cast<std::size_t>(max_length)] != ' ';
    text.resize(static_cast<std::size_t>(max_length));
    // End on a whole word when that still leaves enough characters.
    if (const auto space = text.rfind(' '); cuts_a_word && space != std::string::npos &&
                                            static_cast<std::int64_t>(space) >= std::max<std::int64_t>(min_length, 1))
      text.resize(space);
    while (!text.empty() && text.back() == ' ') text.pop_back();
    while (static_cast<std::int64_t>(text.size()) < min_length) text += 'a';
  }
  auto pattern = schema.find("pattern");
  if (pattern == schema.end() || !pattern->is_string()) return text;
  try {
    const std::regex regex(pattern->get<std::string>(), std::regex::ECMAScript);
    if (std::regex_search(text, regex)) return text;
    if (auto example = example_for_pattern(pattern->get<std::string>(), seed);
        example && length_fits(*example, min_length, max_length)) {
      return *example;
    }
    for (const char* candidate : k_pattern_candidates) {
      if (length_fits(candidate, min_length, max_length) && std::regex_search(candidate, regex)) return candidate;
    }
  } catch (const std::regex_error&) {
  }
  return text;
}

nlohmann::json make_number(const nlohmann::json& schema, std::uint64_t seed, bool integer) {
  const auto minimum = schema.find("minimum");
  const auto maximum = schema.find("maximum");
  const bool has_min = minimum != schema.end() && minimum->is_number();
  const bool has_max = maximum != schema.end() && maximum->is_number();
  const double low = has_min ? minimum->get<double>() : (has_max ? maximum->get<double>() - 100 : 1);
  const double high = has_max ? maximum->get<double>() : low + 99;
  if (integer) {
    const auto first = static_cast<std::int64_t>(std::ceil(low));
    const auto last = static_cast<std::int64_t>(std::floor(high));
    if (last < first) return first;
    return first + static_cast<std::int64_t>(seed % static_cast<std::uint64_t>(last - first + 1));
  }
  const double value = low + (high - low) * static_cast<double>(seed % 1000) / 1000.0;
  return std::clamp(std::round(value * 100) / 100, low, high);
}

// The rules a lowered schema states in words after "Rules: " (see
// lib/llm/schema_lowering.hpp), parsed back into keywords: the fake answers
// like a model that reads its descriptions.
nlohmann::json with_described_rules(const nlohmann::json& schema) {
  const std::string description = schema.value("description", std::string());
  const auto start = description.find("Rules: ");
  if (start == std::string::npos) return schema;
  std::string rules = description.substr(start + 7);
  if (!rules.empty() && rules.back() == '.') rules.pop_back();
  nlohmann::json out = schema;
  static const std::regex k_count(R"((at least|at most|exactly) (-?[0-9.]+)( characters?| items?)?)");
  std::size_t at = 0;
  while (at < rules.size()) {
    std::size_t end = rules.find("; ", at);
    // A pattern is quoted in backticks and may hold "; " itself.
    if (rules.compare(at, 22, "matching the pattern `") == 0) {
      const auto close = rules.find('`', at + 22);
      if (close == std::string::npos) break;
      out["pattern"] = rules.substr(at + 22, close - at - 22);
      end = rules.find("; ", close);
    } else {
      const std::string rule = rules.substr(at, end == std::string::npos ? std::string::npos : end - at);
      std::smatch match;
      if (rule == "not empty") {
        out["minLength"] = 1;
      } else if (std::regex_match(rule, match, k_count)) {
        const double value = std::stod(match[2]);
        std::string unit = match[3];
        if (!unit.empty() && unit.back() != 's') unit += 's';
        const std::string bound = match[1];
        const char* low = unit == " characters" ? "minLength" : unit == " items" ? "minItems" : "minimum";
        const char* high = unit == " characters" ? "maxLength" : unit == " items" ? "maxItems" : "maximum";
        if (bound != "at most") out[low] = unit.empty() ? nlohmann::json(value) : nlohmann::json(std::llround(value));
        if (bound != "at least") out[high] = unit.empty() ? nlohmann::json(value) : nlohmann::json(std::llround(value));
      }
    }
    if (end == std::string::npos) break;
    at = end + 2;
  }
  return out;
}

// The content words of every string an anyOf offers as a suggestion
// (stages::schema::suggested_string: an enumeration beside a free string),
// each once, without the hype words the stages re-ask.
void collect_suggested(const nlohmann::json& schema, std::set<std::string>& out) {
  if (schema.is_object()) {
    if (auto any_of = schema.find("anyOf"); any_of != schema.end() && any_of->is_array() && any_of->size() > 1) {
      const auto& first = any_of->front();
      if (first.is_object() && first.contains("enum") && first.at("enum").is_array()) {
        for (const auto& value : first.at("enum"))
          if (value.is_string())
            for (auto& word : util::content_words(value.get<std::string>())) out.insert(std::move(word));
      }
    }
  }
  if (schema.is_object() || schema.is_array())
    for (const auto& member : schema) collect_suggested(member, out);
}

SuggestedWords suggested_words(const nlohmann::json& schema) {
  std::set<std::string> found;
  collect_suggested(schema, found);
  SuggestedWords out;
  const auto& banned = stages::vague_words();
  for (const auto& word : found)
    if (std::find(banned.begin(), banned.end(), word) == banned.end()) out.push_back(word);
  return out;
}

// Whether `text` names `word` as a whole word (not inside a longer one).
bool names_word(std::string_view text, std::string_view word) {
  auto is_word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (auto at = text.find(word); at != std::string_view::npos; at = text.find(word, at + 1)) {
    const bool starts = at == 0 || !is_word_char(text[at - 1]);
    const bool ends = at + word.size() == text.size() || !is_word_char(text[at + word.size()]);
    if (starts && ends) return true;
  }
  return false;
}

// The one value of an enumeration that `hint` names, as a model follows an
// instruction such as "the format_migration card, on mechanism M2"; nullopt
// when it names none or several.
std::optional<nlohmann::json> only_value_named(const nlohmann::json& values, std::string_view hint) {
  if (hint.empty()) return std::nullopt;
  std::optional<nlohmann::json> found;
  for (const auto& value : values) {
    if (!value.is_string() || !names_word(hint, value.get<std::string>())) continue;
    if (found) return std::nullopt;
    found = value;
  }
  return found;
}

// What one answer is generated from: the schema's root (for its "$defs"),
// the suggested words and the request's hint.
struct Answering {
  const nlohmann::json& root;
  const SuggestedWords& suggested;
  std::string_view hint;
};

// The members an object's hint says to leave null: "set `plan` to null", as
// a model follows the request part that says which member it fills.
bool hint_nulls(std::string_view hint, const std::string& name) {
  return hint.find("`" + name + "` to null") != std::string_view::npos;
}

// A schema that allows null (a type array with "null", or anyOf with a null option).
bool allows_null(const nlohmann::json& schema) {
  if (auto type = schema.find("type"); type != schema.end() && type->is_array())
    return std::find(type->begin(), type->end(), "null") != type->end();
  if (auto options = schema.find("anyOf"); options != schema.end() && options->is_array())
    for (const auto& option : *options)
      if (option.is_object() && option.value("type", nlohmann::json()) == "null") return true;
  return false;
}

// The schema `given` refers to, or itself when it is no reference into the root's "$defs".
const nlohmann::json& resolved(const nlohmann::json& given, const nlohmann::json& root) {
  const auto ref = given.find("$ref");
  const auto defs = root.find("$defs");
  if (ref == given.end() || !ref->is_string() || defs == root.end()) return given;
  const std::string target = ref->get<std::string>();
  const std::string prefix = "#/$defs/";
  if (target.rfind(prefix, 0) != 0 || !defs->contains(target.substr(prefix.size()))) return given;
  return defs->at(target.substr(prefix.size()));
}

// `values` with each item of `taken` replaced by one of the enumeration's
// values no earlier item took, while one is left: a model listing things of
// a kind (three directions on a pattern each, a signal's mechanisms, the
// competitors' threats) varies the kind from item to item.
void spread_values(std::vector<nlohmann::json*>& taken, const nlohmann::json& enumeration, std::uint64_t seed) {
  std::vector<nlohmann::json> used;
  for (nlohmann::json* value : taken) {
    if (std::find(used.begin(), used.end(), *value) != used.end()) {
      std::vector<nlohmann::json> free;
      for (const auto& option : enumeration)
        if (std::find(used.begin(), used.end(), option) == used.end()) free.push_back(option);
      if (!free.empty()) *value = free[(seed = mix(seed)) % free.size()];
    }
    used.push_back(*value);
  }
}

// Sibling items of an array take different values of an enumeration, as far
// as it has values: the array's items themselves when they are enumerated,
// else each enumerated property of object items.
nlohmann::json with_sibling_values_apart(nlohmann::json array, const nlohmann::json& given_items, std::uint64_t seed,
                                         const nlohmann::json& root) {
  const nlohmann::json& items = resolved(given_items, root);
  if (auto values = items.find("enum"); values != items.end() && values->is_array()) {
    std::vector<nlohmann::json*> taken;
    for (auto& item : array) taken.push_back(&item);
    spread_values(taken, *values, mix(seed, "apart"));
    return array;
  }
  const auto properties = items.find("properties");
  if (properties == items.end() || !properties->is_object()) return array;
  for (const auto& [name, member] : properties->items()) {
    const nlohmann::json& property = resolved(member, root);
    const auto values = property.find("enum");
    if (values == property.end() || !values->is_array()) continue;
    std::vector<nlohmann::json*> taken;
    for (auto& item : array)
      if (item.is_object() && item.contains(name)) taken.push_back(&item[name]);
    spread_values(taken, *values, mix(seed, name));
  }
  return array;
}

nlohmann::json make(const nlohmann::json& given, std::uint64_t seed, const Answering& answering, int depth = 0) {
  if (!given.is_object()) return nullptr;
  if (auto ref = given.find("$ref"); ref != given.end() && ref->is_string() && depth < 32) {
    const std::string prefix = "#/$defs/";
    const std::string target = ref->get<std::string>();
    const auto defs = answering.root.find("$defs");
    if (target.rfind(prefix, 0) == 0 && defs != answering.root.end() && defs->contains(target.substr(prefix.size())))
      return make(defs->at(target.substr(prefix.size())), seed, answering, depth + 1);
    return nullptr;
  }
  const auto& suggested = answering.suggested;
  const std::string_view hint = answering.hint;
  const nlohmann::json schema = with_described_rules(given);
  if (auto it = schema.find("const"); it != schema.end()) return *it;
  if (auto it = schema.find("enum"); it != schema.end() && it->is_array() && !it->empty()) {
    if (auto named = only_value_named(*it, hint)) return *named;
    return (*it)[seed % it->size()];
  }
  if (auto it = schema.find("anyOf"); it != schema.end() && it->is_array() && !it->empty())
    return make(it->front(), seed, answering, depth);
  const std::string type = chosen_type(schema);
  if (type == "object") {
    nlohmann::json object = nlohmann::json::object();
    if (auto properties = schema.find("properties"); properties != schema.end() && properties->is_object()) {
      for (const auto& [name, member] : properties->items())
        object[name] = allows_null(member) && hint_nulls(hint, name) ? nlohmann::json(nullptr)
                                                                     : make(member, mix(seed, name), answering, depth);
    }
    return object;
  }
  if (type == "array") {
    const std::int64_t min_items = integer_at(schema, "minItems").value_or(1);
    const std::int64_t max_items = integer_at(schema, "maxItems").value_or(std::max<std::int64_t>(min_items, 3));
    const std::int64_t count =
        max_items <= min_items ? min_items : min_items + static_cast<std::int64_t>(seed % (max_items - min_items + 1));
    nlohmann::json array = nlohmann::json::array();
    const nlohmann::json items = schema.value("items", nlohmann::json::object());
    for (std::int64_t i = 0; i < count; ++i) array.push_back(make(items, mix(seed, std::to_string(i)), answering, depth));
    return with_sibling_values_apart(std::move(array), items, seed, answering.root);
  }
  if (type == "integer") return make_number(schema, seed, true);
  if (type == "number") return make_number(schema, seed, false);
  if (type == "boolean") return seed % 2 == 0;
  if (type == "null") return nullptr;
  return make_string(schema, seed, suggested);
}

}  // namespace

nlohmann::json generate_from_schema(const nlohmann::json& schema, std::uint64_t seed, std::string_view hint) {
  const SuggestedWords suggested = suggested_words(schema);
  return make(schema, mix(seed), Answering{schema, suggested, hint});
}

}  // namespace pipeline::testing

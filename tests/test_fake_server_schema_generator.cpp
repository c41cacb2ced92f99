#include <doctest/doctest.h>

#include <cctype>
#include <set>

#include "lib/llm/json_schema.hpp"
#include "lib/llm/schema_lowering.hpp"
#include "stages/stage_registry.hpp"
#include "tests/fake_server/fake_llm_server.hpp"

using pipeline::llm::validate_json;
using pipeline::testing::generate_from_schema;

namespace {

const nlohmann::json k_schema = nlohmann::json::parse(R"({
  "type": "object", "additionalProperties": false,
  "required": ["cards", "summary"],
  "properties": {
    "summary": {"type": "string", "minLength": 40, "maxLength": 60},
    "code": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]{2}$"},
    "motto": {"type": "string", "pattern": "refill"},
    "when": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"},
    "kind": {"const": "opportunities"},
    "note": {"type": ["null", "string"], "maxLength": 12},
    "score": {"type": "number", "minimum": 0, "maximum": 1},
    "cards": {
      "type": "array", "minItems": 5, "maxItems": 5,
      "items": {
        "type": "object", "additionalProperties": false,
        "required": ["title", "pattern", "steps", "units", "launch"],
        "properties": {
          "title": {"type": "string", "maxLength": 30},
          "pattern": {"enum": ["better-for-you", "premiumisation", "convenience", "format migration", "occasion expansion"]},
          "steps": {"type": "array", "minItems": 3, "maxItems": 3, "items": {"type": "string", "minLength": 10}},
          "units": {"type": "integer", "minimum": 5, "maximum": 9},
          "launch": {"type": "boolean"}
        }
      }
    }
  }
})");

}  // namespace

TEST_CASE("generated documents satisfy every keyword of the schema, whatever the seed") {
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    CAPTURE(seed);
    const auto document = generate_from_schema(k_schema, seed);
    const auto errors = validate_json(k_schema, document);
    CHECK_MESSAGE(errors.empty(), (errors.empty() ? "" : errors.front()));
  }
}

TEST_CASE("the same seed gives the same document, other seeds vary it") {
  CHECK(generate_from_schema(k_schema, 7) == generate_from_schema(k_schema, 7));
  std::set<std::string> patterns;
  std::set<std::string> titles;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const auto document = generate_from_schema(k_schema, seed);
    for (const auto& card : document["cards"]) {
      patterns.insert(card["pattern"]);
      titles.insert(card["title"]);
    }
  }
  CHECK(patterns.size() == 5);
  CHECK(titles.size() > 20);
}

TEST_CASE("strings read as words, not random bytes") {
  const auto document = generate_from_schema(k_schema, 3);
  const std::string summary = document["summary"];
  CHECK(summary.find(' ') != std::string::npos);
  for (char c : summary) CHECK((std::isalpha(static_cast<unsigned char>(c)) || c == ' '));
  CHECK(document["motto"].get<std::string>().find("refill") != std::string::npos);
}

TEST_CASE("answers to a lowered stage schema follow the rules its descriptions state, so the full schema holds") {
  // The wire schema says its refused rules in words; the fake reads them
  // back like a model would, and the answer is checked against the full contract.
  for (const char* dialect : {"openai", "anthropic", "gemini"}) {
    const auto profile = pipeline::llm::profile_by_dialect(dialect);
    REQUIRE(profile);
    for (const auto& stage : pipeline::stages::all_stages()) {
      const auto& full = stage->schema();
      for (const auto& wire : {pipeline::llm::lower_schema(full, *profile),
                               pipeline::llm::structural_schema(full, *profile)}) {
        for (std::uint64_t seed = 0; seed < 8; ++seed) {
          CAPTURE(dialect);
          CAPTURE(stage->name());
          CAPTURE(seed);
          const auto errors = validate_json(full, generate_from_schema(wire, seed));
          CHECK_MESSAGE(errors.empty(), (errors.empty() ? "" : errors.front()));
        }
      }
    }
  }
}

namespace {

// `schema` with every description's "Rules: ..." words cut off.
nlohmann::json without_rules(nlohmann::json schema) {
  if (schema.is_array()) {
    for (auto& item : schema) item = without_rules(item);
  } else if (schema.is_object()) {
    for (auto& [key, value] : schema.items()) {
      if (key == "description" && value.is_string()) {
        const std::string text = value;
        value = text.substr(0, text.find("Rules: "));
      } else {
        value = without_rules(value);
      }
    }
  }
  return schema;
}

}  // namespace

TEST_CASE("without the rules in words, answers to the structural stage schemas break the full contract") {
  // This is what makes the round trip above a test of reading the words back.
  const auto profile = pipeline::llm::profile_by_dialect("anthropic");
  REQUIRE(profile);
  int broken = 0;
  for (const auto& stage : pipeline::stages::all_stages()) {
    const auto wire = without_rules(pipeline::llm::structural_schema(stage->schema(), *profile));
    for (std::uint64_t seed = 0; seed < 8; ++seed)
      if (!validate_json(stage->schema(), generate_from_schema(wire, seed)).empty()) ++broken;
  }
  CHECK(broken > 0);
}

TEST_CASE("free text takes about one word in five from the names a schema suggests, without hype words") {
  // A suggested string as stages::schema::suggested_string writes it: the profile's names beside a free string.
  const nlohmann::json suggested = {
      {"anyOf", nlohmann::json::array({{{"type", "string"}, {"enum", {"Hollowmere skyr pots", "Better butter"}}},
                                       {{"type", "string"}}})}};
  const nlohmann::json schema = {{"type", "object"},
                                 {"properties", {{"line", suggested}, {"story", {{"type", "string"}, {"minLength", 400}}}}}};
  const std::set<std::string> brand_words = {"hollowmere", "skyr", "pot", "butter"};
  int from_brand = 0, total = 0;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const auto document = generate_from_schema(schema, seed);
    std::string story = document["story"];
    for (char& c : story) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::size_t start = 0;
    while (start < story.size()) {
      const auto end = std::min(story.find(' ', start), story.size());
      const std::string word = story.substr(start, end - start);
      CHECK(word != "better");
      from_brand += brand_words.count(word) > 0;
      total += 1;
      start = end + 1;
    }
  }
  CHECK(from_brand > total / 10);
  CHECK(from_brand < 3 * total / 10);
  // Without suggestions the words are the fake's own.
  const nlohmann::json plain = {{"type", "object"}, {"properties", {{"story", {{"type", "string"}, {"minLength", 400}}}}}};
  const std::string story = generate_from_schema(plain, 1)["story"];
  CHECK(story.find("skyr") == std::string::npos);
}

TEST_CASE("answers follow a $ref to the root's $defs, and a member the hint sets to null is null") {
  const nlohmann::json schema = nlohmann::json::parse(R"({
    "type": "object", "additionalProperties": false, "required": ["plan", "card"],
    "$defs": {"concept": {"type": "object", "additionalProperties": false, "required": ["title", "tier"],
                          "properties": {"title": {"type": "string", "minLength": 1, "maxLength": 80},
                                         "tier": {"type": "string", "enum": ["value", "premium"]}}}},
    "properties": {
      "plan": {"anyOf": [{"type": "object", "additionalProperties": false, "required": ["one", "two"],
                          "properties": {"one": {"$ref": "#/$defs/concept"}, "two": {"$ref": "#/$defs/concept"}}},
                         {"type": "null"}]},
      "card": {"anyOf": [{"$ref": "#/$defs/concept"}, {"type": "null"}]}
    }
  })");
  for (std::uint64_t seed = 0; seed < 4; ++seed) {
    const auto plan = generate_from_schema(schema, seed, "Write the plan. Fill `plan` and set `card` to null.");
    CHECK(validate_json(schema, plan).empty());
    CHECK(plan["plan"]["one"].contains("title"));
    CHECK(plan["card"].is_null());
    const auto card = generate_from_schema(schema, seed, "Write the premium card. Set `plan` to null and fill `card`.");
    CHECK(validate_json(schema, card).empty());
    CHECK(card["plan"].is_null());
    CHECK(card["card"]["tier"] == "premium");
  }
  // Without the words, a member that may be null is filled, as before.
  const auto both = generate_from_schema(schema, 1);
  CHECK(both["plan"].is_object());
  CHECK(both["card"].is_object());
}

TEST_CASE("the request hint leaves out the data blocks of the last user message") {
  const nlohmann::json messages = nlohmann::json::array(
      {{{"role", "system"}, {"content", "rules"}},
       {{"role", "user"}, {"content", "shared"}},
       {{"role", "user"},
        {"content", "The plan:\n\n<plan>\n{\"convenience\": \"M1\", \"premiumisation\": \"M2\"}\n</plan>\n\nYour card is "
                    "the convenience card on M3. Set `plan` to null."}}});
  const std::string hint = pipeline::testing::request_hint(messages);
  CHECK(hint.find("premiumisation") == std::string::npos);
  CHECK(hint.find("Your card is the convenience card on M3. Set `plan` to null.") != std::string::npos);
  CHECK(hint.find("The plan:") != std::string::npos);
}

TEST_CASE("the request hint follows a conversation to its last request and keeps it through corrections") {
  nlohmann::json messages = nlohmann::json::array({{{"role", "system"}, {"content", "rules"}},
                                                   {{"role", "user"}, {"content", "shared"}},
                                                   {{"role", "user"}, {"content", "Step 1: the plan. Set `card` to null."}},
                                                   {{"role", "assistant"}, {"content", "{\"plan\": {}, \"card\": null}"}},
                                                   {{"role", "user"}, {"content", "Step 2: the convenience card. Set `plan` to null."}}});
  CHECK(pipeline::testing::request_hint(messages) == "Step 2: the convenience card. Set `plan` to null.");
  // The client's re-ask and stage 5's repeat request correct the answer before them.
  messages.push_back({{"role", "assistant"}, {"content", "{}"}});
  messages.push_back({{"role", "user"}, {"content", "Your previous answer was not usable: $.card: missing. Reply again."}});
  CHECK(pipeline::testing::request_hint(messages) == "Step 2: the convenience card. Set `plan` to null.");
  messages.push_back({{"role", "assistant"}, {"content", "{}"}});
  messages.push_back({{"role", "user"}, {"content", "Read across the five cards, this card repeats another one: its step."}});
  CHECK(pipeline::testing::request_hint(messages) == "Step 2: the convenience card. Set `plan` to null.");
  // Before any answer, a message so worded is the request itself.
  const nlohmann::json first = nlohmann::json::array({{{"role", "user"}, {"content", "shared"}},
                                                      {{"role", "user"}, {"content", "Your previous answer was not usable"}}});
  CHECK(pipeline::testing::request_hint(first) == "Your previous answer was not usable");
}

TEST_CASE("sibling items of an array take different enumerated values while the enumeration has some left") {
  const nlohmann::json pattern = {{"type", "string"}, {"enum", {"alpha", "beta", "gamma", "delta", "epsilon"}}};
  const nlohmann::json schema = {
      {"type", "object"},
      {"$defs", {{"level", {{"type", "string"}, {"enum", {"low", "high"}}}}}},
      {"properties",
       {{"directions", {{"type", "array"}, {"minItems", 3}, {"maxItems", 3},
                        {"items", {{"type", "object"}, {"properties", {{"pattern", pattern}, {"level", {{"$ref", "#/$defs/level"}}}}}}}}},
        {"tags", {{"type", "array"}, {"minItems", 5}, {"maxItems", 5}, {"items", pattern}}}}}};
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    CAPTURE(seed);
    const auto document = generate_from_schema(schema, seed);
    REQUIRE(validate_json(schema, document).empty());
    std::set<std::string> patterns, tags, levels;
    for (const auto& direction : document["directions"]) {
      patterns.insert(direction["pattern"].get<std::string>());
      levels.insert(direction["level"].get<std::string>());
    }
    for (const auto& tag : document["tags"]) tags.insert(tag.get<std::string>());
    CHECK(patterns.size() == 3);
    CHECK(tags.size() == 5);
    // Two levels for three items: both are used, one of them twice.
    CHECK(levels.size() == 2);
  }
}
